// Package lspawn is the local spawner, one of goqmail's two root programs.
// It maps a local recipient to the account that receives it (users/assign,
// then qmail-getpw's passwd rules), opens the queued message, and hands both
// to a delivery process running as that account, never as root. It parses no
// message content and no network input: only the strict frames from send.
//
// SECURITY: runs as root (when the server was started as root). Trusts send's
// frames only after strict decoding; builds file paths only from validated
// queue ids; refuses uid 0 as a delivery target (qmail-lspawn QLX_ROOT);
// gives each delivery process exactly its uid and primary gid
// (setgroups to that gid alone, as qmail's prot_gid).
package lspawn

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"goqmail/internal/assign"
	"goqmail/internal/plainfile"
)

// Target is who receives a delivery.
type Target struct {
	assign.Entry
	Local  string // the recipient's local part as addressed
	Domain string
	Alias  bool // nobody owns the address: the alias user receives it
	// Virtual: a virtual-directory recipient, delivered as the virtual
	// account with Home the root of the virtual mailboxes.
	Virtual bool
}

// Lookup failures: permanent (no such user) or temporary.
var (
	ErrNoMailbox = errors.New("Sorry, no mailbox here by that name. (#5.1.1)")
	ErrRoot      = errors.New("Not allowed to perform deliveries as root. (#4.3.0)")
)

// Resolver looks recipients up: users/assign first, then passwd.
type Resolver struct {
	Assign *assign.File
	System assign.System
	// SingleUID >= 0 restricts passwd matches to that uid: started without
	// root, goqmail can only deliver as the user running it.
	SingleUID int
	// AliasUser receives what nobody owns (control/aliasuser; "" = none).
	AliasUser string
	// VirtualUser owns the virtual mailboxes (goqmailv), which live under
	// VirtualHome (ROOT/vmail).
	VirtualUser string
	VirtualHome string
}

// ResolveVirtual maps a recipient of a virtual-directory domain to the
// virtual account (vpopmail's users/assign line `+dom-:vpopmail:...`):
// goqmail-local then finds the mailbox in the directory, as that account.
func (r *Resolver) ResolveVirtual(rcpt string) (Target, error) {
	local, domain := splitAddr(rcpt)
	t := Target{Local: local, Domain: domain, Virtual: true}
	if r.VirtualHome == "" {
		return t, fmt.Errorf("temporary: no virtual mailbox root configured")
	}
	e := assign.Entry{Home: r.VirtualHome, Dash: "-", Ext: local}
	if r.SingleUID >= 0 {
		e.User, e.UID, e.GID = r.VirtualUser, r.SingleUID, os.Getgid()
	} else {
		pw, ok, err := r.System.LookupUser(r.VirtualUser)
		if err != nil {
			return t, fmt.Errorf("temporary: virtual account: %w", err)
		}
		if !ok {
			return t, fmt.Errorf("temporary: the virtual mailbox account %q does not exist (run goqmail install)", r.VirtualUser)
		}
		if pw.UID == 0 {
			return t, ErrRoot
		}
		e.User, e.UID, e.GID = pw.Name, pw.UID, pw.GID
	}
	t.Entry = e
	return t, nil
}

// Resolve maps an address to its delivery target. A temporary error defers
// the delivery: never bounce because a file or directory was unreadable.
func (r *Resolver) Resolve(rcpt string) (Target, error) {
	local, domain := splitAddr(rcpt)
	t := Target{Local: local, Domain: domain}
	table, err := r.Assign.Table()
	if err != nil {
		return t, fmt.Errorf("temporary: %w", err)
	}
	if e, ok := table.Lookup(local); ok {
		t.Entry = e
	} else {
		e, ok, err := assign.LookupPasswd(r.System, local)
		if err != nil {
			return t, fmt.Errorf("temporary: %w", err)
		}
		if !ok || (r.SingleUID >= 0 && e.UID != r.SingleUID) {
			return r.alias(t, table)
		}
		t.Entry = e
	}
	if t.UID == 0 && r.SingleUID < 0 {
		return t, ErrRoot
	}
	return t, nil
}

// alias hands an address nobody owns to the alias user, as qmail-getpw
// does: its .qmail-<local> files decide (Dash "-", Ext the local part,
// lowercased). root's mail lands here too, since passwd matches never return
// uid 0. The alias account comes from a users/assign simple entry of that
// name (so a self-contained server needs no system account), else passwd.
func (r *Resolver) alias(t Target, table *assign.Table) (Target, error) {
	if r.AliasUser == "" {
		return t, ErrNoMailbox
	}
	e, ok := table.Lookup(r.AliasUser)
	if !ok {
		var err error
		e, ok, err = assign.LookupPasswd(r.System, r.AliasUser)
		if err != nil {
			return t, fmt.Errorf("temporary: alias user: %w", err)
		}
	}
	if !ok || (r.SingleUID >= 0 && e.UID != r.SingleUID) || e.UID == 0 {
		return t, ErrNoMailbox
	}
	e.Dash, e.Ext = "-", lowerASCII(t.Local)
	t.Entry, t.Alias = e, true
	return t, nil
}

// openMessage opens a queued message for a delivery process. In root mode
// the file must be a regular file owned by the queue's uid (qmail-lspawn
// checks the message belongs to qmailq), so send cannot make root open
// anything else. It returns the file's size too.
func openMessage(path string, queueUID int) (*os.File, int64, error) {
	// Non-blocking open (plainfile.OpenRegular): a FIFO in msg/ must not
	// stop this root process, and with it every local delivery.
	f, st, err := plainfile.OpenRegular(path, os.O_RDONLY|syscall.O_NOFOLLOW)
	if err != nil {
		return nil, 0, err
	}
	if queueUID >= 0 && int(st.Uid) != queueUID {
		f.Close()
		return nil, 0, fmt.Errorf("%s is not owned by the queue's uid %d", path, queueUID)
	}
	return f, st.Size, nil
}

// splitAddr splits an envelope address at its last '@', the rule of
// address.Split; the spawner runs as root and does not link the SMTP
// address parser (internal/layering checks that).
func splitAddr(s string) (local, domain string) {
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

// lowerASCII lower-cases A-Z only, as qmail does (case_lowerb).
func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
