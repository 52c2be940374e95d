package dotqmail

import (
	"strings"
	"time"

	"goqmail/internal/address"
	"goqmail/internal/mbox"
)

// ProgramPath is PATH for delivery programs. qmail-local passed on
// whatever PATH qmail-start had; goqmail's delivery process inherits
// nothing from the daemons and gives programs this fixed one.
const ProgramPath = "/usr/local/bin:/usr/bin:/bin"

// Delivery is what qmail-local knows about one delivery: its arguments
// (user home local dash ext domain sender) and what the search found.
type Delivery struct {
	User   string
	Home   string
	Local  string // the local part as delivered: RECIPIENT is Local@Domain
	Ext    string
	Domain string
	Sender string // envelope sender; "" is the null sender <>
	// NewSender is the envelope sender of forwards (see NewSender).
	NewSender string
	// Default and HasDefault come from Found: DEFAULT is set only when a
	// -default file matched.
	Default    string
	HasDefault bool
	// Now dates the UFLINE.
	Now time.Time
}

// Recipient is the address being delivered to, qmail's envrecip: always
// Local "@" Domain.
func (d Delivery) Recipient() string { return d.Local + "@" + d.Domain }

// DTLine is the Delivered-To header line qmail-local adds to every
// delivery and looks for to detect loops, newline included; a newline
// inside the recipient would become '_'.
func (d Delivery) DTLine() string {
	return "Delivered-To: " + noNewline(d.Recipient()) + "\n"
}

// RPLine is the Return-Path header line: the sender in angle brackets,
// its local part quoted when RFC 821/822 need it (qmail's quote2, which
// address.Addr.SMTP matches), newline included.
func (d Delivery) RPLine() string {
	local, domain := address.Split(d.Sender)
	return "Return-Path: " + noNewline(address.Addr{Local: local, Domain: domain}.SMTP()) + "\n"
}

// UFLine is the mbox "From " line for this delivery, newline included.
func (d Delivery) UFLine() string { return mbox.FromLine(d.Sender, d.Now) }

// Env is the whole environment of a delivery program, exactly qmail-local's
// variables (man qmail-command.8) plus PATH, and nothing inherited:
// SENDER, NEWSENDER, RECIPIENT, USER, HOME, HOST, HOST2-4, LOCAL, EXT,
// EXT2-4, DEFAULT (only when a -default file matched), DTLINE, RPLINE,
// UFLINE.
//
// SECURITY: SENDER, RECIPIENT, EXT, DEFAULT and the *LINE values come from
// the network unquoted (qmail's too): programs must treat them as data.
// With /bin/sh being bash this was the Shellshock vector; the variables
// are still passed as qmail passed them, for compatibility.
func Env(d Delivery) []string {
	env := []string{
		"PATH=" + ProgramPath,
		"SENDER=" + d.Sender,
		"NEWSENDER=" + d.NewSender,
		"RECIPIENT=" + d.Recipient(),
		"USER=" + d.User,
		"HOME=" + d.Home,
		"HOST=" + d.Domain,
		"HOST2=" + hostBefore(d.Domain, 1),
		"HOST3=" + hostBefore(d.Domain, 2),
		"HOST4=" + hostBefore(d.Domain, 3),
		"LOCAL=" + d.Local,
		"EXT=" + d.Ext,
		"EXT2=" + extAfter(d.Ext, 1),
		"EXT3=" + extAfter(d.Ext, 2),
		"EXT4=" + extAfter(d.Ext, 3),
		"DTLINE=" + d.DTLine(),
		"RPLINE=" + d.RPLine(),
		"UFLINE=" + d.UFLine(),
	}
	if d.HasDefault {
		env = append(env, "DEFAULT="+d.Default)
	}
	return env
}

// extAfter is EXT after its n-th '-', or "" when it has fewer.
func extAfter(ext string, n int) string {
	for ; n > 0; n-- {
		i := strings.IndexByte(ext, '-')
		if i < 0 {
			return ""
		}
		ext = ext[i+1:]
	}
	return ext
}

// hostBefore is HOST up to its n-th '.' from the right; once no '.' is
// left it stays what it was (qmail's byte_rchr returns the length).
func hostBefore(host string, n int) string {
	for ; n > 0; n-- {
		if i := strings.LastIndexByte(host, '.'); i >= 0 {
			host = host[:i]
		}
	}
	return host
}

func noNewline(s string) string { return strings.ReplaceAll(s, "\n", "_") }

// NewSender is the envelope sender for forwards and NEWSENDER: the sender,
// or local-owner@domain when the matching .qmail has an -owner file
// (Owner), so bounces from a list go to its owner. The null sender and
// qmail's "#@[]" (a bounce's own bounce) are never replaced.
//
// qmail also has "-owner-default": the VERP sender local-owner-@domain-@[]
// which qmail-send expands per recipient. goqmail's queue does not do VERP,
// so an -owner-default file is ignored and the plain owner address used.
func NewSender(sender, local, domain string, owner bool) string {
	if !owner || sender == "" || sender == "#@[]" {
		return sender
	}
	return local + "-owner@" + domain
}
