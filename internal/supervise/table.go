// Package supervise is the supervisor, goqmail's other root program (qmail's
// qmail-start plus daemontools' supervise): it binds the ports, creates the
// sockets between the processes, starts each program under its own account
// and restarts it with a throttle when it exits, and forwards signals. It
// parses no mail, no addresses and no configuration beyond smtplisten.
//
// SECURITY: runs as root when started as root. Everything it starts gets
// exactly one uid and one gid (no supplementary groups, no capabilities:
// the kernel clears them when a root process execs as another uid).
package supervise

import "goqmail/internal/accounts"

// Socket is a Unix socket the supervisor creates, keeps open across
// restarts of its server, and hands to the server as a file descriptor.
type Socket struct {
	Name   string
	File   string            // under run/
	Client *accounts.Account // the only account that may connect (owner, mode 0600); nil: anyone (0666)
	// AdminOnly: mode 0600 owned by root (by the running user without
	// root), for the administrator's tools.
	AdminOnly bool
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
}

// Which process may talk to which is declared here and nowhere else
// (OpenSMTPD's setup_peers).
var Sockets = []Socket{
	{Name: "submit", File: "submit.sock"},
	{Name: "queuectl", File: "queuectl.sock", Client: &accounts.Send},
	{Name: "lspawn", File: "lspawn.sock", Client: &accounts.Send},
	{Name: "remote", File: "remote.sock", Client: &accounts.Send},
	{Name: "sendctl", File: "sendctl.sock", AdminOnly: true},
}

// Programs is every program of an installation (the services, the
// supervisor, the admin tool, the delivery process and sendmail), for the
// test harnesses; the Makefile and the install layout list them too.
var Programs = []string{"goqmaild", "goqmail", "goqmail-queue", "goqmail-send", "goqmail-lspawn",
	"goqmail-local", "goqmail-smtpd", "goqmail-remote", "goqmail-sendmail"}

var Services = []Service{
	{Name: "queue", Binary: "goqmail-queue", Account: &accounts.Queue, Sockets: []string{"submit", "queuectl"}, OneProc: true},
	{Name: "lspawn", Binary: "goqmail-lspawn", Sockets: []string{"lspawn"}, OneProc: true},
	{Name: "remote", Binary: "goqmail-remote", Account: &accounts.Remote, Sockets: []string{"remote"}},
	{Name: "send", Binary: "goqmail-send", Account: &accounts.Send, Sockets: []string{"sendctl"}, OneProc: true},
	{Name: "smtpd", Binary: "goqmail-smtpd", Account: &accounts.SMTPD, Sockets: []string{"smtp"}},
}
