// Package logsum is `goqmail log summary`: from goqmail's log lines
// (internal/logparse) it counts what qmailanalog's zoverall and
// pflogsumm count: messages in, deliveries per recipient (delivered,
// deferred, failed), bounces, refusals by reason, delays from arrival to
// delivery and the time deliveries took, the top senders, recipients and
// recipient domains, deferral reasons, and the warnings and alerts.
//
// Messages are joined across lines by their queue id, deliveries by
// send's delivery number (qmailanalog's matchup does the same with
// qmail's lines). A message that arrived before the first line read has
// no arrival time, so no delay; a result whose `starting delivery` line
// was not read counts without its recipient.
package logsum

import (
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"

	"goqmail/internal/logparse"
)

// Summary accumulates lines; Write prints it.
type Summary struct {
	First, Last time.Time
	Lines       int // lines read
	Foreign     int // lines that are not goqmail's

	ids     map[string]bool      // messages that arrived (Committed, New)
	bounces map[string]bool      // ids of bounce messages
	arrival map[string]time.Time // id -> when it arrived
	sender  map[string]string    // id -> envelope sender (Info, Accepted)
	bytes   map[string]int64     // id -> size
	starts  map[int]start        // send's delivery number -> its start

	SMTP             int // messages accepted by smtpd
	BouncesDiscarded int // double and triple bounces dropped
	Delivered        int // recipients delivered
	DeliveredLocal   int
	DeliveredRemote  int
	Failed           int // recipients failed for good
	Deferred         int // deferrals (attempts)
	deferredRcpts    map[string]bool

	Refused    int // recipients, senders and messages refused by smtpd, sessions it dropped, failed logins
	refusedBy  map[string]int
	deferredBy map[string]int
	problems   map[string]int // warnings and alerts, by text
	Warnings   int
	Alerts     int

	delays, xdelays        []time.Duration
	rcpts, domains         map[string]int
	domDeferred, domFailed map[string]int
}

type start struct {
	id      string
	channel string
	rcpts   []string
	at      time.Time
}

// New returns an empty summary.
func New() *Summary {
	return &Summary{ids: map[string]bool{}, bounces: map[string]bool{}, arrival: map[string]time.Time{},
		sender: map[string]string{}, bytes: map[string]int64{}, starts: map[int]start{}, deferredRcpts: map[string]bool{},
		refusedBy: map[string]int{}, deferredBy: map[string]int{}, problems: map[string]int{},
		rcpts: map[string]int{}, domains: map[string]int{},
		domDeferred: map[string]int{}, domFailed: map[string]int{}}
}

// Add takes one line.
func (s *Summary) Add(l logparse.Line) {
	s.Lines++
	if l.Kind == logparse.Foreign {
		s.Foreign++
		return
	}
	if s.First.IsZero() || l.Time.Before(s.First) {
		s.First = l.Time
	}
	if l.Time.After(s.Last) {
		s.Last = l.Time
	}
	switch lv := l.Level(); lv {
	case logparse.Alert, logparse.Warning:
		if lv == logparse.Alert {
			s.Alerts++
		} else {
			s.Warnings++
		}
		s.problems[clip(l.Prog+": "+l.Text)]++
	}
	switch l.Kind {
	case logparse.Accepted:
		s.SMTP++
		s.arrived(l)
		s.sender[l.MsgID] = l.Sender
	case logparse.Committed, logparse.New:
		s.arrived(l)
		if l.Kind == logparse.Committed && l.BounceID != "" {
			s.bounces[l.MsgID] = true
		}
	case logparse.Info:
		s.sender[l.MsgID] = l.Sender
		s.bytes[l.MsgID] = l.Bytes
	case logparse.Bounce:
		if l.BounceID != "" {
			s.bounces[l.BounceID] = true
		} else {
			s.BouncesDiscarded++
		}
	case logparse.Start:
		s.starts[l.Seq] = start{id: l.MsgID, channel: l.Channel, rcpts: l.Rcpts, at: l.Time}
	case logparse.Result:
		s.result(l)
	case logparse.RefusedRcpt, logparse.RefusedSender, logparse.RefusedMessage:
		s.refused(l.Reason)
	case logparse.Dropped:
		s.refused("session dropped: " + l.Reason)
	case logparse.RefusedConn:
		s.refused(l.Reason)
	case logparse.AuthFailed:
		s.refused("authentication failed: " + l.Reason)
	}
}

func (s *Summary) arrived(l logparse.Line) {
	s.ids[l.MsgID] = true
	if _, ok := s.arrival[l.MsgID]; !ok {
		s.arrival[l.MsgID] = l.Time
	}
	if l.Bytes > 0 && s.bytes[l.MsgID] == 0 {
		s.bytes[l.MsgID] = l.Bytes
	}
}

func (s *Summary) refused(reason string) {
	s.Refused++
	s.refusedBy[clip(reason)]++
}

// result counts one recipient's outcome of a delivery.
func (s *Summary) result(l logparse.Line) {
	st, known := s.starts[l.Seq]
	rcpt, text := "(unknown: its delivery started before the log)", l.Reason
	if known {
		rcpt = st.rcpts[0]
		if st.channel == "remote" {
			// A remote result names its recipient (docs/logs.md).
			if r, rest, ok := strings.Cut(l.Reason, ": "); ok {
				rcpt, text = r, rest
			}
		}
	}
	dom := "(unknown)"
	if i := strings.LastIndexByte(rcpt, '@'); known && i >= 0 {
		dom = strings.ToLower(rcpt[i+1:])
	}
	switch l.Result {
	case "success":
		s.Delivered++
		if st.channel == "remote" {
			s.DeliveredRemote++
		} else if known {
			s.DeliveredLocal++
		}
		s.rcpts[rcpt]++
		s.domains[dom]++
		if at, ok := s.arrival[st.id]; known && ok {
			s.delays = append(s.delays, l.Time.Sub(at))
		}
		if known {
			s.xdelays = append(s.xdelays, l.Time.Sub(st.at))
		}
	case "failure":
		s.Failed++
		s.domFailed[dom]++
	case "deferral":
		s.Deferred++
		s.deferredRcpts[st.id+" "+rcpt] = true
		s.domDeferred[dom]++
		s.deferredBy[clip(text)]++
	}
}

// In is the number of messages that arrived, bounces left out.
func (s *Summary) In() int {
	n := 0
	for id := range s.ids {
		if !s.bounces[id] {
			n++
		}
	}
	return n
}

// Bounces is the number of bounce messages made.
func (s *Summary) Bounces() int { return len(s.bounces) }

// Write prints the summary with the top n of each list.
func (s *Summary) Write(w io.Writer, n int) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	if s.First.IsZero() {
		p("no goqmail log lines (%d lines read)\n", s.Lines)
		return
	}
	p("goqmail log summary: %s to %s (%d lines, %d not goqmail's)\n\n", s.First.Format(time.RFC3339), s.Last.Format(time.RFC3339), s.Lines, s.Foreign)
	var inBytes int64
	senders := map[string]int{}
	for id := range s.ids {
		if !s.bounces[id] {
			inBytes += s.bytes[id]
			senders[senderName(s.sender[id])]++
		}
	}
	p("Messages\n")
	p("  %-22s %8d  (%d bytes)\n", "received", s.In(), inBytes)
	p("  %-22s %8d\n", "  by SMTP", s.SMTP)
	p("  %-22s %8d\n", "bounces made", s.Bounces())
	p("  %-22s %8d\n", "bounces discarded", s.BouncesDiscarded)
	p("  %-22s %8d\n", "refused", s.Refused)
	p("\nDeliveries (per recipient)\n")
	p("  %-22s %8d  (local %d, remote %d)\n", "delivered", s.Delivered, s.DeliveredLocal, s.DeliveredRemote)
	p("  %-22s %8d  (%d recipients)\n", "deferred", s.Deferred, len(s.deferredRcpts))
	p("  %-22s %8d\n", "failed", s.Failed)
	p("\n")
	writeDurations(w, "Delay, arrival to delivery", s.delays)
	writeDurations(w, "Delivery time, start to result", s.xdelays)
	writeTop(w, "Top senders (messages)", senders, n)
	writeTop(w, "Top recipients (delivered)", s.rcpts, n)
	writeDomains(w, s, n)
	writeTop(w, "Deferral reasons", s.deferredBy, n)
	writeTop(w, "Refusals by reason", s.refusedBy, n)
	p("Warnings %d, alerts %d\n", s.Warnings, s.Alerts)
	writeTop(w, "", s.problems, n)
}

func senderName(s string) string {
	if s == "" {
		return "<>"
	}
	return s
}

// Percentile is the nearest-rank p-th percentile (0 < p <= 100) of
// sorted durations.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func writeDurations(w io.Writer, title string, d []time.Duration) {
	if len(d) == 0 {
		fmt.Fprintf(w, "%s: none\n\n", title)
		return
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	r := func(x time.Duration) time.Duration { return x.Round(time.Millisecond) }
	fmt.Fprintf(w, "%s (%d)\n  p50 %v  p90 %v  p99 %v  max %v\n\n", title, len(d),
		r(Percentile(d, 50)), r(Percentile(d, 90)), r(Percentile(d, 99)), r(d[len(d)-1]))
}

type count struct {
	key string
	n   int
}

func top(m map[string]int, n int) []count {
	var out []count
	for k, v := range m {
		out = append(out, count{k, v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].n != out[j].n {
			return out[i].n > out[j].n
		}
		return out[i].key < out[j].key
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

func writeTop(w io.Writer, title string, m map[string]int, n int) {
	if title != "" {
		fmt.Fprintf(w, "%s\n", title)
	}
	if len(m) == 0 && title != "" {
		fmt.Fprintf(w, "  none\n")
	}
	for _, c := range top(m, n) {
		fmt.Fprintf(w, "  %8d  %s\n", c.n, c.key)
	}
	fmt.Fprintln(w)
}

func writeDomains(w io.Writer, s *Summary, n int) {
	all := map[string]int{}
	for _, m := range []map[string]int{s.domains, s.domDeferred, s.domFailed} {
		for k, v := range m {
			all[k] += v
		}
	}
	fmt.Fprintf(w, "Top recipient domains (delivered, deferred, failed)\n")
	if len(all) == 0 {
		fmt.Fprintf(w, "  none\n")
	}
	for _, c := range top(all, n) {
		fmt.Fprintf(w, "  %8d %8d %8d  %s\n", s.domains[c.key], s.domDeferred[c.key], s.domFailed[c.key], c.key)
	}
	fmt.Fprintln(w)
}

// angle masks addresses so that one reason given to many senders or
// recipients counts as one.
var angle = regexp.MustCompile(`<[^<>]*>`)

func clip(s string) string {
	s = angle.ReplaceAllString(s, "<...>")
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}
