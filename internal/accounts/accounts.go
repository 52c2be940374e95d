// Package accounts declares the system accounts a root installation of
// goqmail runs under, once, for the installer, the checker and the
// supervisor (qmail's INSTALL.ids, conf-users, conf-groups).
package accounts

import (
	"fmt"
	"os"

	"goqmail/internal/assign"
)

// Group is the group of the queue-side accounts (qmail's "qmail" group).
const Group = "goqmail"

// NoFiles is the group of accounts that should own no files (qmail's
// "nofiles"): the SMTP server.
const NoFiles = "goqmailnf"

// VirtualGroup is the virtual mailbox account's own group: the directory's
// password file is readable by it (and by Dovecot if the admin adds it),
// never by the SMTP server's group.
const VirtualGroup = "goqmailv"

// MetricsGroup is the metrics account's own group: in goqmailnf it could
// read the TLS private key, control/servercert.pem (0640 root:goqmailnf).
const MetricsGroup = "goqmailm"

// DKIMGroup is the signer's own group: no other account may share a
// file with the only reader of the DKIM private keys.
const DKIMGroup = "goqmailk"

// Groups lists the groups to create, in order.
var Groups = []string{Group, NoFiles, VirtualGroup, MetricsGroup, DKIMGroup}

// Account is one system user.
type Account struct {
	Name    string
	Group   string
	Purpose string
}

// The accounts, one per mutually distrusting program (qmail's five-way
// trust partition). The local spawner and the supervisor stay root;
// deliveries run as the recipient.
var (
	SMTPD  = Account{"goqmaild", NoFiles, "runs goqmail-smtpd: talks to the network, owns only greylist/ (greylisting's state)"}
	Queue  = Account{"goqmailq", Group, "runs goqmail-queue: owns queue/, the only writer of the queue"}
	Send   = Account{"goqmails", Group, "runs goqmail-send: schedules deliveries, owns no files"}
	Remote = Account{"goqmailr", Group, "runs goqmail-remote: delivers to other hosts, reads queued messages"}
	// POP3 runs goqmail-pop3d's network side: it parses clients' input and
	// never opens a mailbox (qmail-popup's place).
	POP3 = Account{"goqmailp", NoFiles, "runs goqmail-pop3d: talks POP3 to the network, owns no files"}
	// Virtual owns every virtual mailbox (vpopmail's vpopmail user): mail
	// for virtual users is delivered as this account, never as root.
	Virtual = Account{"goqmailv", VirtualGroup, "owns the virtual mailboxes under vmail/"}
	// Log runs goqmail-log, which writes log/ when control/logdest asks for
	// files (qmail's qmaill, the account multilog ran as). Its own group:
	// mail logs name addresses, and only the administrators the site adds
	// to that group should read them.
	Log = Account{"goqmaill", LogGroup, "runs goqmail-log: writes the log files under log/"}
	// Metrics runs goqmail-metrics, the HTTP server of the Prometheus
	// endpoint: an account of its own, so a flaw in the HTTP side reaches
	// no other program's process or files.
	Metrics = Account{"goqmailm", MetricsGroup, "runs goqmail-metrics: serves Prometheus metrics over HTTP, reads no files"}
	// DKIM runs goqmail-dkimsign, the only reader of the DKIM private
	// keys (DESIGN.md's signer): a flaw anywhere else reaches no key.
	DKIM = Account{"goqmailk", DKIMGroup, "runs goqmail-dkimsign: the only reader of the DKIM private keys under dkim/"}
	// ACME runs goqmail-acme, which obtains and renews the server
	// certificate and serves the MTA-STS policy: in goqmailnf, so the
	// certificate file it writes is readable by smtpd and pop3d (and it
	// may read the one it replaces); it owns acme/ with the account key.
	ACME = Account{"goqmaila", NoFiles, "runs goqmail-acme: obtains and renews the TLS certificate (ACME), serves the MTA-STS policy; owns acme/"}
	// Web runs goqmail-web, the HTTPS front of the webmail and the web
	// administration (docs/web.md): in goqmailnf, like smtpd and pop3d, to
	// read the TLS certificate; it never opens a mailbox, a password file,
	// control/ or queue/ (goqmail-auth starts the sessions that do).
	Web = Account{"goqmailw", NoFiles, "runs goqmail-web: the HTTPS front of webmail and web administration, owns no files"}
)

// LogGroup is the log account's own group.
const LogGroup = "goqmaill"

// Demo owns the demo mailbox when `goqmail init` runs as root: goqmail never
// delivers as root, so the demo user needs an account of its own, in a
// group of its own: in goqmailnf (as it once was) it could read the TLS
// private key, control/servercert.pem (0640 root:goqmailnf).
var Demo = Account{"goqmaildemo", DemoGroup, "owns the demo mailbox made by `goqmail init` as root"}

// DemoGroup is the demo account's own group.
const DemoGroup = "goqmaildemo"

// All lists the accounts in creation order.
var All = []Account{SMTPD, Queue, Send, Remote, Virtual, POP3, Log, Metrics, DKIM, ACME, Web}

// IDs is an account's uid and gid.
type IDs struct{ UID, GID int }

// Lookup finds an account in /etc/passwd.
func Lookup(a Account) (IDs, error) {
	e, ok, err := assign.OSSystem{}.LookupUser(a.Name)
	if err != nil {
		return IDs{}, err
	}
	if !ok {
		return IDs{}, fmt.Errorf("system account %s does not exist: run `goqmail install` as root first", a.Name)
	}
	if e.UID == 0 {
		return IDs{}, fmt.Errorf("system account %s has uid 0; it must be an unprivileged account", a.Name)
	}
	return IDs{UID: e.UID, GID: e.GID}, nil
}

// Current is the identity everything runs as when goqmail is started
// without root.
func Current() IDs { return IDs{UID: os.Getuid(), GID: os.Getgid()} }
