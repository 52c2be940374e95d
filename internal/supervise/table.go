// Package supervise is the supervisor, goqmail's other root program (qmail's
// qmail-start plus daemontools' supervise): it binds the ports, creates the
// sockets between the processes, starts each program under its own account
// and restarts it with a throttle when it exits, and forwards signals. It
// parses no mail, no addresses and no configuration beyond the listen
// files and control/logdest: the configuration is validated by a child,
// `goqmail check -config` (config.go), before anything starts and before a
// SIGHUP is forwarded. It reads no log line: it holds the log pipes
// between the programs and goqmail-log (logpipes.go).
//
// SECURITY: runs as root when started as root. Everything it starts gets
// exactly one uid and one gid (no supplementary groups, no capabilities:
// the kernel clears them when a root process execs as another uid).
package supervise

import (
	"goqmail/internal/accounts"
	"goqmail/internal/control"
)

// Socket is a Unix socket the supervisor creates, keeps open across
// restarts of its server, and hands to the server as a file descriptor.
type Socket struct {
	Name   string
	File   string            // under run/
	Client *accounts.Account // the only account that may connect (owner, mode 0600); nil: anyone (0666)
	// AdminOnly: mode 0600 owned by root (by the running user without
	// root), for the administrator's tools.
	AdminOnly bool
	// Clients, when set instead of Client: several accounts may connect
	// (mode 0660, group goqmailnf, which they share); the server checks
	// each peer's uid against GOQMAIL_AUTH_CLIENTS.
	Clients []*accounts.Account
	// Packet makes a SOCK_SEQPACKET socket (descriptors travel with
	// messages), else a stream socket.
	Packet bool
	// Senders, set instead of Client or Clients, makes a datagram socket
	// (SOCK_DGRAM) that these accounts send to. They share no group, so
	// the file is writable by anyone (0666); the kernel attaches each
	// datagram's sender credentials (SO_PASSCRED, set here before any
	// program starts) and the server counts only those from its senders'
	// uids (GOQMAIL_METRICS_CLIENTS).
	Senders []*accounts.Account
}

// TCPListener is a kind of network listener: its control file lists the
// addresses, and the programs learn each descriptor's kind from
// GOQMAIL_FD_KINDS.
type TCPListener struct {
	Kind    string
	Control *control.Setting
}

// TCPListeners are the network services, bound by the supervisor before
// any program starts (so the programs need no privilege to bind 25 or 110).
var TCPListeners = []TCPListener{
	{Kind: "smtp", Control: control.SMTPListen},
	{Kind: "submission", Control: control.SubmissionListen},
	{Kind: "smtps", Control: control.SMTPSListen},
	{Kind: "pop3", Control: control.POP3Listen},
	{Kind: "pop3s", Control: control.POP3SListen},
	{Kind: "prometheus", Control: control.MetricsListen},
	{Kind: "acmehttp", Control: control.ACMEListen},
	{Kind: "mtasts", Control: control.MTASTSListen},
	{Kind: "https", Control: control.WebListen},
}

// Service is one program the supervisor runs.
type Service struct {
	Name    string
	Binary  string
	Account *accounts.Account // nil: stays root (the local spawner)
	Sockets []string          // passed as fds 3, 4, ... in this order; "smtp" expands to every SMTP listener
	// OneProc runs the program with GOMAXPROCS=1 unless the administrator
	// set GOMAXPROCS: these programs spend their time in blocking system
	// calls (fsync, rename, process starts) and one scheduler thread avoids
	// handing work between threads on every one of them (measured in
	// docs/bench.md). smtpd keeps every core for its sessions.
	OneProc bool
	// ChildProcs is the GOMAXPROCS of the processes the program starts
	// (the spawner's delivery processes), unless the administrator set
	// GOMAXPROCS: passed to it as GOQMAIL_LOCAL_GOMAXPROCS. A delivery
	// process spends its time in fsync, and with the timer slack of
	// internal/timerslack the runtime takes a processor back from a thread
	// blocked in a system call up to a millisecond late: with one, every
	// other delivery of the process waited for each fsync (measured in
	// docs/bench.md, 2026-12-07 23:00).
	ChildProcs int
	// NeedsListener: not started when none of its TCP listeners is
	// configured (no POP3 addresses, no POP3 server).
	NeedsListener bool
	// Log marks the log writer: started first and stopped last, only when
	// control/logdest sends the lines somewhere else than goqmaild's
	// standard error; it gets the read end of every program's log pipe
	// (logpipes.go) and goqmaild's standard error for its own troubles.
	Log bool
}

// Which process may talk to which is declared here and nowhere else
// (OpenSMTPD's setup_peers).
var Sockets = []Socket{
	{Name: "submit", File: "submit.sock"},
	{Name: "queuectl", File: "queuectl.sock", Client: &accounts.Send},
	{Name: "lspawn", File: "lspawn.sock", Client: &accounts.Send},
	{Name: "remote", File: "remote.sock", Client: &accounts.Send},
	{Name: "sendctl", File: "sendctl.sock", AdminOnly: true},
	{Name: "auth", File: "auth.sock", Clients: []*accounts.Account{&accounts.SMTPD, &accounts.POP3, &accounts.Web}, Packet: true},
	{Name: "dkimsign", File: "dkimsign.sock", Client: &accounts.Queue},
	{Name: "metrics", File: "metrics.sock", Senders: []*accounts.Account{&accounts.SMTPD, &accounts.Queue, &accounts.Send, &accounts.Remote, &accounts.POP3}},
}

// Programs is every program of an installation (the services, the
// supervisor, the admin tool, the delivery process, sendmail and the
// qmail-queue of QMAILQUEUE filters), for the test harnesses; the Makefile
// and the install layout list them too.
var Programs = []string{"goqmaild", "goqmail", "goqmail-queue", "goqmail-send", "goqmail-lspawn",
	"goqmail-local", "goqmail-smtpd", "goqmail-remote", "goqmail-sendmail", "goqmail-auth", "goqmail-pop3d", "goqmail-log", "goqmail-metrics", "goqmail-qmail-queue",
	"goqmail-dkimsign", "goqmail-acme", "goqmail-vacation", "goqmail-webmbox", "goqmail-web"}

var Services = []Service{
	{Name: "log", Binary: "goqmail-log", Account: &accounts.Log, OneProc: true, Log: true},
	// Before the queue, its only client; stopped after it (supervise.go).
	{Name: "dkimsign", Binary: "goqmail-dkimsign", Account: &accounts.DKIM, Sockets: []string{"dkimsign"}, OneProc: true},
	{Name: "queue", Binary: "goqmail-queue", Account: &accounts.Queue, Sockets: []string{"submit", "queuectl"}, OneProc: true},
	{Name: "lspawn", Binary: "goqmail-lspawn", Sockets: []string{"lspawn"}, OneProc: true, ChildProcs: 4},
	{Name: "remote", Binary: "goqmail-remote", Account: &accounts.Remote, Sockets: []string{"remote"}},
	{Name: "send", Binary: "goqmail-send", Account: &accounts.Send, Sockets: []string{"sendctl"}, OneProc: true},
	{Name: "auth", Binary: "goqmail-auth", Sockets: []string{"auth"}, OneProc: true},
	{Name: "pop3d", Binary: "goqmail-pop3d", Account: &accounts.POP3, Sockets: []string{"pop3", "pop3s"}, NeedsListener: true},
	{Name: "smtpd", Binary: "goqmail-smtpd", Account: &accounts.SMTPD, Sockets: []string{"smtp", "submission", "smtps"}},
	// Last: the programs above never wait for it (internal/metrics).
	{Name: "metrics", Binary: "goqmail-metrics", Account: &accounts.Metrics, Sockets: []string{"metrics", "prometheus"}, NeedsListener: true},
	// Ports 80 and 443 are bound here, as root; ACME, its keys and the
	// HTTP servers run as goqmaila (internal/acmecert).
	{Name: "acme", Binary: "goqmail-acme", Account: &accounts.ACME, Sockets: []string{"acmehttp", "mtasts"}, NeedsListener: true},
	// The web's HTTPS front (docs/web.md): logins go to run/auth.sock, which
	// starts the mailbox and admin sessions; only when weblisten is set.
	{Name: "web", Binary: "goqmail-web", Account: &accounts.Web, Sockets: []string{"https"}, NeedsListener: true},
}

// metricsSenders is GOQMAIL_METRICS_CLIENTS: the program name each
// metrics sender reports under (internal/metrics), with its uid.
var metricsSenders = []struct {
	program string
	account *accounts.Account
}{
	{"smtpd", &accounts.SMTPD}, {"queue", &accounts.Queue}, {"send", &accounts.Send},
	{"remote", &accounts.Remote}, {"pop3d", &accounts.POP3},
}
