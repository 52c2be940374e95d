// Package logparse reads goqmail's own log lines back (docs/logs.md): the
// time, the program, and for the lines that tell a message's story (its
// arrival, deliveries, bounce and end, and the refusals) what they say.
// `goqmail log summary` and `goqmail status` read the log through it, and
// goqmail-log uses it to give each line its journal fields.
//
// One table, kinds, knows every line: a kind, the program that writes
// it, its pattern, and what the pattern's groups are. Its test reads the
// example lines of docs/logs.md and checks that each one is recognised and
// that every kind has an example there, so the document and the parser
// cannot drift apart.
package logparse

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Kind names what a line says.
type Kind string

// The kinds. The generic ones (Alert, Warning, Status, Other) are what a
// line is when no specific pattern matches.
const (
	Accepted       Kind = "smtpd accepted"         // a message taken by smtpd
	RefusedRcpt    Kind = "smtpd refused rcpt"     // a recipient refused at RCPT
	RefusedMessage Kind = "smtpd refused message"  // a whole message refused (at its end)
	RefusedSender  Kind = "smtpd refused sender"   // MAIL refused
	Dropped        Kind = "smtpd dropped"          // a session ended by smtpd
	RefusedConn    Kind = "refused connection"     // a connection refused at accept by a limit (smtpd, pop3d; docs/limits.md)
	Session        Kind = "smtpd session"          // the end of a session
	AuthOK         Kind = "smtpd authenticated"    // SMTP AUTH succeeded
	AuthFailed     Kind = "smtpd auth failed"      // SMTP AUTH failed
	TLS            Kind = "smtpd tls"              // a TLS handshake done
	DMARC          Kind = "smtpd dmarc"            // a DMARC failure acted on: refused, deferred or to Junk (docs/antispam.md)
	SRSInvalid     Kind = "smtpd srs invalid"      // why an SRS recipient was refused (the refusal line follows)
	SRSBounce      Kind = "send srs bounce"        // a bounce to an SRS address routed to the original sender
	Filter         Kind = "smtpd filter"           // a filter hook's verdict or note: a milter, a qmail-spp plugin, a QMAILQUEUE program
	Committed      Kind = "queue committed"        // the queue made a message durable
	New            Kind = "send new msg"           // send saw a new message
	Info           Kind = "send info msg"          // the message's size, sender, submitter
	Start          Kind = "send starting delivery" // a delivery starts
	Result         Kind = "send delivery result"   // success, failure or deferral
	End            Kind = "send end msg"           // the message is finished
	Bounce         Kind = "send bounce msg"        // a bounce was queued (or dropped)
	Duplicate      Kind = "send duplicate"         // a recipient merged with an earlier one
	Admin          Kind = "send admin"             // hold, release, delete
	Spawn          Kind = "lspawn delivery"        // the spawner hands a delivery to an account
	RemoteJob      Kind = "remote job"             // goqmail-remote's outcome of one job
	RemoteHost     Kind = "remote host"            // a host goqmail-remote could not use
	Alert          Kind = "alert"                  // a program cannot do its job
	Warning        Kind = "warning"                // needs attention
	Status         Kind = "status"                 // starts, stops, reloads, counts
	Other          Kind = "other"                  // any other line of ours
	Foreign        Kind = "not a goqmail log line" // no time and program
)

// Line is one parsed line. Only the fields its kind has are set.
type Line struct {
	Time time.Time
	Prog string // "smtpd", "send", "goqmaild", ...
	Text string // after "prog: "
	Kind Kind

	MsgID    string   // the queue id the line is about (every kind that names one)
	Seq      int      // send's delivery number (Start, Result, Spawn, RemoteJob)
	Client   string   // smtpd: the client's ip:port
	Sender   string   // envelope sender (Accepted, Info, Refused*), without <>
	Rcpts    []string // Start: the recipients; RefusedRcpt, Duplicate, Spawn: the recipient
	Channel  string   // Start: "local" or "remote"
	Result   string   // Result: "success", "failure" or "deferral"
	Reason   string   // Result: the report; Refused*, Dropped, AuthFailed: why
	Bytes    int64    // Accepted, Committed, Info
	BounceID string   // Bounce: the bounce's id; Committed: the message this bounce reports
	Count    [3]int   // RemoteJob: accepted, failed, deferred; Session: accepted, refused
}

// Level is how serious a line is: an alert, a warning, or neither.
func (l *Line) Level() Kind {
	switch {
	case strings.HasPrefix(l.Text, "alert: "):
		return Alert
	case strings.HasPrefix(l.Text, "warning: "):
		return Warning
	}
	return ""
}

const (
	id   = `([0-9a-f]{16})`
	addr = `(\S+)`
)

// pattern is one line shape: the program that writes it and the groups.
type pattern struct {
	kind Kind
	prog string
	re   *regexp.Regexp
	fill func(l *Line, m []string)
}

func p(kind Kind, prog, re string, fill func(l *Line, m []string)) pattern {
	return pattern{kind: kind, prog: prog, re: regexp.MustCompile("^" + re + "$"), fill: fill}
}

// limitNamed finds the control file a limit refusal names.
var limitNamed = regexp.MustCompile(`\((concurrency\w*|connectrate\w*) \d+\)`)

// limitOf turns a limit refusal's text into its reason: the limit that
// refused ("concurrencyperip"), so refusals of one kind count together.
func limitOf(text string) string {
	if m := limitNamed.FindStringSubmatch(text); m != nil {
		return "connection refused: " + m[1]
	}
	return "connection refused: " + text
}

func atoi(s string) int     { n, _ := strconv.Atoi(s); return n }
func atoi64(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }

// kinds is every line the parser knows, most specific first within a
// program. The texts are those of the Printf calls cited.
var kinds = []pattern{
	// internal/smtpd (mail.go, session.go, auth.go, starttls.go)
	// A QMAILQUEUE program whose qmail-queue does not report the queue
	// id is named by its pid, as qmail-smtpd's "qp" (qmailqueue.go).
	p(Accepted, "smtpd", addr+`: accepted msg ([0-9a-f]{16}|\d{1,10}) from <(.*)> to (\d+) recipients, (\d+) bytes`, func(l *Line, m []string) {
		l.Client, l.MsgID, l.Sender, l.Count[0], l.Bytes = m[1], m[2], m[3], atoi(m[4]), atoi64(m[5])
	}),
	// internal/smtpd/checks.go: a check names itself; the reason counted
	// is the check and the code, the same for every client it refuses.
	p(RefusedRcpt, "smtpd", addr+`: refused rcpt <(.*?)> from <(.*?)> by (\w+) \((.*)\): (\d{3} \S+) .*`, func(l *Line, m []string) {
		l.Client, l.Rcpts, l.Sender, l.Reason = m[1], []string{m[2]}, m[3], m[4]+": "+m[6]
	}),
	p(RefusedSender, "smtpd", addr+`: refused sender <(.*?)> by (\w+) \((.*)\): (\d{3} \S+) .*`, func(l *Line, m []string) {
		l.Client, l.Sender, l.Reason = m[1], m[2], m[3]+": "+m[5]
	}),
	p(RefusedRcpt, "smtpd", addr+`: refused rcpt <(.*?)> from <(.*?)>: (\d{3} .*)`, func(l *Line, m []string) {
		l.Client, l.Rcpts, l.Sender, l.Reason = m[1], []string{m[2]}, m[3], m[4]
	}),
	p(RefusedMessage, "smtpd", addr+`: refused message from <(.*?)>: (.*)`, func(l *Line, m []string) {
		l.Client, l.Sender, l.Reason = m[1], m[2], m[3]
	}),
	p(RefusedSender, "smtpd", addr+`: refused sender <(.*?)>(?: for user \S+)?: (.*)`, func(l *Line, m []string) {
		l.Client, l.Sender, l.Reason = m[1], m[2], m[3]
	}),
	p(Dropped, "smtpd", addr+`: dropped: (.*)`, func(l *Line, m []string) { l.Client, l.Reason = m[1], m[2] }),
	// internal/smtpd/limits.go, internal/pop3 (limits): refusals at accept
	p(RefusedConn, "smtpd", addr+`: refused on \S+ (?:with \d{3} \S+|\(closed before TLS\)): (.*)`, func(l *Line, m []string) {
		l.Client, l.Reason = m[1], limitOf(m[2])
	}),
	p(RefusedConn, "pop3d", addr+`: refused: (.*)`, func(l *Line, m []string) { l.Client, l.Reason = m[1], limitOf(m[2]) }),
	p(Session, "smtpd", `session `+addr+`: helo (.*): (\d+) accepted, (\d+) refused, (.*) \(\S+\)`, func(l *Line, m []string) {
		l.Client, l.Count[0], l.Count[1], l.Reason = m[1], atoi(m[3]), atoi(m[4]), m[5]
	}),
	p(AuthOK, "smtpd", addr+`: authenticated user (\S+) \(login .*\)`, func(l *Line, m []string) { l.Client = m[1] }),
	p(AuthFailed, "smtpd", addr+`: authentication failed for login \S*: (.*) \(\d+ of \d+\)`, func(l *Line, m []string) {
		l.Client, l.Reason = m[1], m[2]
	}),
	p(TLS, "smtpd", addr+`: TLS (.*)`, func(l *Line, m []string) { l.Client = m[1] }),
	// internal/smtpd/authcheck.go
	p(DMARC, "smtpd", addr+`: dmarc (\S+) from <(.*?)> for header.from (\S*) \(policy (\S*)\): (refused|deferred|to Junk)`, func(l *Line, m []string) {
		l.Client, l.Sender, l.Reason = m[1], m[3], "dmarc "+m[2]+" for "+m[4]+" (p="+m[5]+"): "+m[6]
	}),
	// internal/smtpd (milter.go, filters.go, qmailqueue.go): what a filter
	// hook decided or said, named by the hook and its address or program.
	p(Filter, "smtpd", addr+`: ((?:milter|plugin|qmailqueue) \S+): (.*)`, func(l *Line, m []string) {
		l.Client, l.Reason = m[1], m[2]+": "+m[3]
	}),
	// internal/smtpd/rcptexists.go, internal/send/srs.go (docs/outbound.md)
	p(SRSInvalid, "smtpd", addr+`: rcpt <(.*)>: (invalid SRS address: .*)`, func(l *Line, m []string) {
		l.Client, l.Rcpts, l.Reason = m[1], []string{m[2]}, m[3]
	}),
	p(SRSBounce, "send", `msg `+id+`: SRS recipient <(.*)> is <(.*)>`, func(l *Line, m []string) {
		l.MsgID, l.Rcpts = m[1], []string{m[2], m[3]}
	}),
	// internal/queue (server.go commit)
	p(Committed, "queue", `msg `+id+`: committed (\d+) bytes (?:from uid \d+ qp \d+|bounce of msg `+id+`), \d+ recipients`, func(l *Line, m []string) {
		l.MsgID, l.Bytes, l.BounceID = m[1], atoi64(m[2]), m[3]
	}),
	// internal/send (core.go, dedup.go, admin.go): qmail-send's words
	p(New, "send", `new msg `+id, func(l *Line, m []string) { l.MsgID = m[1] }),
	p(Info, "send", `info msg `+id+`: bytes (\d+) from <(.*)> qp \d+ uid \d+`, func(l *Line, m []string) {
		l.MsgID, l.Bytes, l.Sender = m[1], atoi64(m[2]), m[3]
	}),
	p(Start, "send", `starting delivery (\d+): msg `+id+` to (local|remote) (\S.*)`, func(l *Line, m []string) {
		l.Seq, l.MsgID, l.Channel, l.Rcpts = atoi(m[1]), m[2], m[3], strings.Fields(m[4])
	}),
	p(Result, "send", `delivery (\d+): (success|failure|deferral): (.*)`, func(l *Line, m []string) {
		l.Seq, l.Result, l.Reason = atoi(m[1]), m[2], m[3]
	}),
	p(End, "send", `end msg `+id, func(l *Line, m []string) { l.MsgID = m[1] }),
	p(Bounce, "send", `bounce msg `+id+`(?: qp `+id+`|: (.*))`, func(l *Line, m []string) {
		l.MsgID, l.BounceID, l.Reason = m[1], m[2], m[3]
	}),
	p(Duplicate, "send", `msg `+id+`: recipient <(.*)> is the mailbox of <.*>: delivered once`, func(l *Line, m []string) {
		l.MsgID, l.Rcpts = m[1], []string{m[2]}
	}),
	p(Admin, "send", `(?:hold|release|delete) msg `+id+`.*`, func(l *Line, m []string) { l.MsgID = m[1] }),
	// internal/lspawn (spawner.go)
	p(Spawn, "lspawn", `delivery (\d+): msg `+id+`: (.*) as \S+ \(uid \d+\)`, func(l *Line, m []string) {
		l.Seq, l.MsgID, l.Rcpts = atoi(m[1]), m[2], []string{m[3]}
	}),
	// internal/remote (server.go, client.go)
	p(RemoteJob, "remote", `delivery (\d+): msg `+id+` to \S+: (\d+) accepted, (\d+) failed, (\d+) deferred \(.*\)`, func(l *Line, m []string) {
		l.Seq, l.MsgID, l.Count = atoi(m[1]), m[2], [3]int{atoi(m[3]), atoi(m[4]), atoi(m[5])}
	}),
	p(RemoteHost, "remote", `(\S+:\d+): (.*)`, func(l *Line, m []string) { l.Reason = m[2] }),
}

// head finds the time and the program: the line starts with them, or, in
// a line a syslog daemon or journalctl wrote, they follow its own prefix.
var head = regexp.MustCompile(`(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z) ([A-Za-z0-9_.-]+): `)

// msgRef is any mention of a queue id.
var msgRef = regexp.MustCompile(`\bmsg ` + id + `\b`)

// Parse reads one line (without its newline).
func Parse(s string) Line {
	l, ok := fastHead(s)
	if !ok {
		loc := head.FindStringSubmatchIndex(s)
		if loc == nil {
			return Line{Text: s, Kind: Foreign}
		}
		t, err := time.Parse(time.RFC3339Nano, s[loc[2]:loc[3]])
		if err != nil {
			return Line{Text: s, Kind: Foreign}
		}
		l = Line{Time: t, Prog: s[loc[4]:loc[5]], Text: s[loc[1]:]}
	}
	if l.Time.IsZero() {
		// 0001-01-01T00:00:00Z is Go's zero time, which no goqmail program
		// writes; taking it would give a line of ours that says "no time"
		// (the fuzzer's find).
		return Line{Text: s, Kind: Foreign}
	}
	for _, pt := range kinds {
		if pt.prog != l.Prog {
			continue
		}
		if m := pt.re.FindStringSubmatch(l.Text); m != nil {
			l.Kind = pt.kind
			pt.fill(&l, m)
			return l
		}
	}
	switch {
	case strings.HasPrefix(l.Text, "alert: "):
		l.Kind = Alert
	case strings.HasPrefix(l.Text, "warning: "):
		l.Kind = Warning
	case strings.HasPrefix(l.Text, "status: "):
		l.Kind = Status
	default:
		l.Kind = Other
	}
	if m := msgRef.FindStringSubmatch(l.Text); m != nil {
		l.MsgID = m[1]
	}
	return l
}

// fastHead reads the time and program of a line that starts with them, as
// logline writes them (a summary reads millions): the head regexp, without
// its search.
func fastHead(s string) (Line, bool) {
	const n = len("2006-01-02T15:04:05.000000Z ")
	if len(s) <= n || s[n-2] != 'Z' || s[n-1] != ' ' {
		return Line{}, false
	}
	i := strings.Index(s[n:], ": ")
	if i <= 0 {
		return Line{}, false
	}
	for _, c := range []byte(s[n : n+i]) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return Line{}, false
		}
	}
	t, err := time.Parse("2006-01-02T15:04:05.000000Z", s[:n-1])
	if err != nil {
		return Line{}, false
	}
	return Line{Time: t, Prog: s[n : n+i], Text: s[n+i+2:]}, true
}

// Kinds lists every specific kind the table knows, in its order.
func Kinds() []Kind {
	var out []Kind
	seen := map[Kind]bool{}
	for _, pt := range kinds {
		if !seen[pt.kind] {
			seen[pt.kind] = true
			out = append(out, pt.kind)
		}
	}
	return out
}
