// Package metrics declares every metric goqmail exports, once, and carries
// the programs' counts to goqmail-metrics, the unprivileged process that
// serves them to Prometheus (docs/metrics.md).
//
// How counts travel, and why: each program keeps its counters in memory and
// sends a snapshot of all of them (cumulative since it started) as one
// datagram to ROOT/run/metrics.sock about once a second, and only then. A
// snapshot, not one message per event: a lost datagram loses nothing (the
// next one carries the totals), a restarted goqmail-metrics learns the
// totals at the next snapshot, and the mail path pays one map update per
// event, never a system call. Sends are non-blocking (MSG_DONTWAIT): a
// stuck or dead goqmail-metrics costs a program nothing but a dropped
// snapshot, which it counts and reports in the next one that gets through.
// Log lines were the other choice; they would tie the metrics to the log
// format and to where logs go (terminal, files, journal), and need a parser
// of free text in the metrics process.
//
// The catalog below is what goqmail-metrics accepts: a family it does not
// declare, a program that may not report it, a label value outside the
// declared set, or a counter that goes backwards is refused. Every label
// has a fixed set of values, so no client can grow the number of series.
package metrics

import "slices"

// Kind is a metric type, as Prometheus defines them.
type Kind int

const (
	Counter Kind = iota
	Gauge
	Histogram
)

func (k Kind) String() string {
	switch k {
	case Counter:
		return "counter"
	case Gauge:
		return "gauge"
	}
	return "histogram"
}

// Label is one label of a family with every value it may take.
type Label struct {
	Name   string
	Values []string
}

// Family is one metric: its name (Prometheus conventions: goqmail_ prefix,
// base units, _total for counters), its help text, its labels and the
// programs that report it.
type Family struct {
	Name    string
	Help    string
	Kind    Kind
	Labels  []Label
	Buckets []float64 // Histogram: upper bounds in seconds, increasing; +Inf is implied
	From    []string  // programs that may report it
}

// Programs that report metrics: the names they give in their snapshots.
const (
	FromSMTPD  = "smtpd"
	FromQueue  = "queue"
	FromSend   = "send"
	FromRemote = "remote"
	FromPOP3D  = "pop3d"
)

// ProgramNames lists them, for goqmail-metrics' checks.
var ProgramNames = []string{FromSMTPD, FromQueue, FromSend, FromRemote, FromPOP3D}

var (
	service  = Label{"service", []string{"smtp", "submission", "smtps"}}
	kindL    = Label{"kind", []string{"local", "remote"}}
	resultL  = Label{"result", []string{"success", "deferral", "failure"}}
	authSvc  = Label{"service", []string{"smtp", "pop3"}}
	authRes  = Label{"result", []string{"success", "failure", "error"}}
	latency  = []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300}
	delay    = []float64{0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400, 345600}
	commitBk = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5}
)

// The families. Their order is the order of docs/metrics.md's table.
var (
	SMTPSessions = &Family{Name: "goqmail_smtp_sessions_total", Kind: Counter, From: []string{FromSMTPD},
		Labels: []Label{service},
		Help:   "SMTP connections accepted by goqmail-smtpd, by listener."}
	SMTPSessionsRefused = &Family{Name: "goqmail_smtp_sessions_refused_total", Kind: Counter, From: []string{FromSMTPD},
		Labels: []Label{{"reason", []string{"denied", "busy", "client_limit", "rate_limit", "pregreet", "shutdown"}}},
		Help:   "SMTP connections ended before the greeting: denied by tcp.smtp, over concurrencyincoming, talked before the greeting, server stopping."}
	SMTPSessionsActive = &Family{Name: "goqmail_smtp_sessions_active", Kind: Gauge, From: []string{FromSMTPD},
		Help: "SMTP sessions in progress."}
	SMTPAccepted = &Family{Name: "goqmail_smtp_messages_accepted_total", Kind: Counter, From: []string{FromSMTPD},
		Labels: []Label{service},
		Help:   "Messages accepted (250 after DATA: committed to the queue), by listener."}
	SMTPRefused = &Family{Name: "goqmail_smtp_messages_refused_total", Kind: Counter, From: []string{FromSMTPD},
		Labels: []Label{{"reason", []string{"no_valid_recipients", "size", "bare_crlf", "loop", "check", "plugin", "queue_temporary", "queue_permanent", "connection_lost"}}},
		Help:   "Messages refused at DATA or at its end, by reason: check is a message check's verdict (a milter's included), plugin a qmail-spp [data] plugin's; a QMAILQUEUE program's refusal counts as the queue's."}
	SMTPRcptRefused = &Family{Name: "goqmail_smtp_recipients_refused_total", Kind: Counter, From: []string{FromSMTPD},
		Labels: []Label{{"reason", []string{"relaying_denied", "unknown_user", "spf_fail", "too_many_recipients", "temporary", "other",
			"bad_address", "dnsbl", "client_check", "greylist", "rate_limit"}}},
		Help: "RCPT commands refused, by reason: the relay rule, unknown users, maxrcpt, lookups that failed, and the checks of docs/antispam.md (badmailfrom and badrcptto, DNS blocklists, the other client checks, greylisting, rate limits)."}
	AuthAttempts = &Family{Name: "goqmail_auth_attempts_total", Kind: Counter, From: []string{FromSMTPD, FromPOP3D},
		Labels: []Label{authSvc, authRes},
		Help:   "Logins (SMTP AUTH, POP3 USER/PASS, APOP, AUTH) by result: success, failure (bad credentials), error (the auth service could not answer)."}
	QueueCommit = &Family{Name: "goqmail_queue_commit_duration_seconds", Kind: Histogram, From: []string{FromQueue}, Buckets: commitBk,
		Help: "Time to make an accepted message durable (content fsync, rename, directory fsync), the wait before the 250."}
	QueueCommitted = &Family{Name: "goqmail_queue_messages_committed_total", Kind: Counter, From: []string{FromQueue},
		Help: "Messages committed to the queue (from the network, sendmail and bounces)."}
	QueueMessages = &Family{Name: "goqmail_queue_messages", Kind: Gauge, From: []string{FromSend},
		Help: "Messages in the queue (not finished), as goqmail-send knows them."}
	QueueRecipients = &Family{Name: "goqmail_queue_recipients_pending", Kind: Gauge, From: []string{FromSend},
		Help: "Recipients not yet delivered or bounced."}
	QueueOldest = &Family{Name: "goqmail_queue_oldest_message_age_seconds", Kind: Gauge, From: []string{FromSend},
		Help: "Age of the oldest message in the queue; 0 when it is empty."}
	Deliveries = &Family{Name: "goqmail_deliveries_total", Kind: Counter, From: []string{FromSend},
		Labels: []Label{kindL, resultL},
		Help:   "Delivery results per recipient, by destination kind (local, remote) and result (success, deferral, failure)."}
	DeliveryDuration = &Family{Name: "goqmail_delivery_attempt_duration_seconds", Kind: Histogram, From: []string{FromSend}, Buckets: latency,
		Labels: []Label{kindL},
		Help:   "Time from starting a delivery attempt to its result, per recipient."}
	DeliveryDelay = &Family{Name: "goqmail_delivery_delay_seconds", Kind: Histogram, From: []string{FromSend}, Buckets: delay,
		Labels: []Label{kindL},
		Help:   "Time from a message's arrival in the queue to its successful delivery, per recipient."}
	RemoteTLS = &Family{Name: "goqmail_remote_tls_total", Kind: Counter, From: []string{FromRemote},
		Labels: []Label{{"outcome", []string{"verified", "unverified", "not_offered", "refused", "plain_fallback", "failed"}}},
		Help:   "Outgoing SMTP connections by TLS outcome: TLS with a verified certificate, TLS without verification, plain text because the server offered no STARTTLS, refused STARTTLS, or a retry in plain text after a failed handshake, and handshakes that failed."}
)

// All lists every family the programs report.
var All = []*Family{SMTPSessions, SMTPSessionsRefused, SMTPSessionsActive, SMTPAccepted, SMTPRefused, SMTPRcptRefused,
	AuthAttempts, QueueCommit, QueueCommitted, QueueMessages, QueueRecipients, QueueOldest,
	Deliveries, DeliveryDuration, DeliveryDelay, RemoteTLS}

// Lookup finds a family by name.
func Lookup(name string) *Family {
	for _, f := range All {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// ReportedBy says whether prog may report f.
func (f *Family) ReportedBy(prog string) bool { return slices.Contains(f.From, prog) }

// validLabels says whether values are one allowed value per label.
func (f *Family) validLabels(values []string) bool {
	if len(values) != len(f.Labels) {
		return false
	}
	for i, l := range f.Labels {
		if !slices.Contains(l.Values, values[i]) {
			return false
		}
	}
	return true
}

// LabelSets returns every combination of label values, in catalog order:
// goqmail-metrics shows each series from the start, at 0, so that rate()
// and alerts see the first event.
func (f *Family) LabelSets() [][]string {
	sets := [][]string{nil}
	for _, l := range f.Labels {
		var next [][]string
		for _, s := range sets {
			for _, v := range l.Values {
				next = append(next, append(slices.Clone(s), v))
			}
		}
		sets = next
	}
	return sets
}
