// Package admin implements the `goqmail` command's setup work: a
// self-contained development directory (init), a root installation with its
// system accounts (install, qmail's install + hier.c), and the check that an
// installation is as it should be (qmail's instcheck).
package admin

import (
	"os"

	"goqmail/internal/accounts"
)

// Entry is one path of an installation: what it is, its mode, its owner.
type Entry struct {
	Path  string // relative to the root
	Dir   bool
	Mode  os.FileMode
	Owner *accounts.Account // nil: root (single-user mode: the invoking user)
	Group string            // group name in root mode; "" = the owner's primary group or root's
	From  string            // a program installed under another name: the built program's name
	Link  string            // a symbolic link to this target (relative to its directory)
}

// Layout is the installation, declared once for install and check.
var Layout = []Entry{
	{Path: ".", Dir: true, Mode: 0o755},
	{Path: "bin", Dir: true, Mode: 0o755},
	{Path: "control", Dir: true, Mode: 0o755},
	{Path: "users", Dir: true, Mode: 0o755},
	{Path: "run", Dir: true, Mode: 0o755},
	// Virtual domains (docs/virtual.md): the directory, and the mailboxes
	// owned by the virtual account.
	{Path: "vdir", Dir: true, Mode: 0o755},
	{Path: "vmail", Dir: true, Mode: 0o711, Owner: &accounts.Virtual}, // searchable: smtpd checks vmail/<domain>/.qmail-<local> by name
	// Readable by the goqmail group: goqmail-remote reads queue/msg.
	{Path: "queue", Dir: true, Mode: 0o750, Owner: &accounts.Queue, Group: accounts.Group},
	{Path: "queue/tmp", Dir: true, Mode: 0o700, Owner: &accounts.Queue, Group: accounts.Group},
	{Path: "queue/msg", Dir: true, Mode: 0o750, Owner: &accounts.Queue, Group: accounts.Group},
	{Path: "queue/bad", Dir: true, Mode: 0o700, Owner: &accounts.Queue, Group: accounts.Group},
	{Path: "queue/free", Dir: true, Mode: 0o700, Owner: &accounts.Queue, Group: accounts.Group},
	{Path: "queue/journal", Dir: true, Mode: 0o700, Owner: &accounts.Queue, Group: accounts.Group},
	// Greylisting's state (control/greylistdelay, docs/antispam.md):
	// written by smtpd, read by nobody else.
	{Path: "greylist", Dir: true, Mode: 0o700, Owner: &accounts.SMTPD},
	// Log files (control/logdest files): goqmail-log's, readable by its
	// group (docs/logs.md).
	{Path: "log", Dir: true, Mode: 0o750, Owner: &accounts.Log},
	// DKIM private keys (docs/outbound.md): only the signer's account
	// (and root) may enter.
	{Path: "dkim", Dir: true, Mode: 0o700, Owner: &accounts.DKIM},
	// ACME (docs/outbound.md): goqmail-acme's account key and the certificate
	// it writes, which control/servercert.pem may link to; readable by
	// the goqmailnf group (smtpd, pop3d), not by others.
	{Path: "acme", Dir: true, Mode: 0o750, Owner: &accounts.ACME, Group: accounts.NoFiles},
	// The two root programs are readable and runnable by root only.
	{Path: "bin/goqmaild", Mode: 0o700},
	{Path: "bin/goqmail-lspawn", Mode: 0o700},
	{Path: "bin/goqmail-queue", Mode: 0o755},
	{Path: "bin/goqmail-send", Mode: 0o755},
	{Path: "bin/goqmail-smtpd", Mode: 0o755},
	{Path: "bin/goqmail-local", Mode: 0o755},
	{Path: "bin/goqmail-remote", Mode: 0o755},
	{Path: "bin/goqmail-auth", Mode: 0o700}, // root: verifies passwords, starts mailbox sessions
	{Path: "bin/goqmail-pop3d", Mode: 0o755},
	{Path: "bin/goqmail-log", Mode: 0o755},
	{Path: "bin/goqmail-metrics", Mode: 0o755},
	{Path: "bin/goqmail-dkimsign", Mode: 0o755},
	{Path: "bin/goqmail-acme", Mode: 0o755},
	// The webmail's mailbox session, run by goqmail-auth as the mailbox owner.
	{Path: "bin/goqmail-webmbox", Mode: 0o755},
	// The web front (docs/web.md), as goqmailw.
	{Path: "bin/goqmail-web", Mode: 0o755},
	// The vacation autoresponder a user's .qmail runs (the webmail writes the line).
	{Path: "bin/goqmail-vacation", Mode: 0o755},
	{Path: "bin/goqmail", Mode: 0o755},
	// Local submission: no setuid or setgid bit, it talks to the queue's
	// submit socket. mailq and newaliases are the same program.
	{Path: "bin/sendmail", Mode: 0o755, From: "goqmail-sendmail"},
	{Path: "bin/mailq", Mode: 0o777, Link: "sendmail"},
	{Path: "bin/newaliases", Mode: 0o777, Link: "sendmail"},
	// What a QMAILQUEUE filter (simscan, qmail-scanner) runs at its end,
	// under the name it has in qmail: it too only talks to the submit
	// socket.
	{Path: "bin/qmail-queue", Mode: 0o755, From: "goqmail-qmail-queue"},
}

// rootHelp ends the usage of every command that works on an installation:
// how the installation is found (internal/rootdir).
const rootHelp = "ROOT: -root ROOT (anywhere), else $GOQMAIL_ROOT, else /var/goqmail.\n"
