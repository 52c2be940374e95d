package supervise

import (
	"fmt"
	"os"
	"strings"

	"goqmail/internal/accounts"
)

// The tables of docs/processes.md are generated from this package's table
// and internal/accounts (`go test ./internal/supervise -run
// TestProcessDocUpToDate -update`), so the doc cannot drift from what the
// supervisor does.

// Mode is the file mode the supervisor gives the socket: 0666 when anyone
// may connect, 0600 for one client account (owned by it) or the
// administrator (owned by root), 0660 with group goqmailnf for several
// client accounts.
func (sk Socket) Mode() os.FileMode {
	switch {
	case sk.Client != nil, sk.AdminOnly:
		return 0o600
	case len(sk.Clients) > 0:
		return 0o660
	}
	return 0o666 // anyone, or Senders checked by uid
}

// programsMarkdown is the table of the services: account, descriptors,
// pid file.
func programsMarkdown() string {
	var b strings.Builder
	b.WriteString("| program | runs as (root install) | gets from the supervisor | pid file | notes |\n|---|---|---|---|---|\n")
	for _, svc := range Services {
		var fds, listeners []string
		for _, name := range svc.Sockets {
			if l, ok := listener(name); ok {
				listeners = append(listeners, "`"+l.Control.Name+"`")
			} else {
				fds = append(fds, describeFD(name))
			}
		}
		if len(listeners) > 0 {
			fds = append(fds, "the "+and(listeners)+" listeners")
		}
		var notes []string
		if svc.OneProc {
			notes = append(notes, "GOMAXPROCS=1 unless set")
		}
		if svc.ChildProcs > 0 {
			notes = append(notes, fmt.Sprintf("its delivery processes GOMAXPROCS=%d unless set", svc.ChildProcs))
		}
		if svc.NeedsListener {
			var ctl []string
			for _, name := range svc.Sockets {
				if l, ok := listener(name); ok {
					ctl = append(ctl, "`"+l.Control.Name+"`")
				}
			}
			notes = append(notes, "started only when "+or(ctl)+" lists an address")
		}
		if svc.Log {
			fds = append(fds, "the read end of every program's log pipe")
			notes = append(notes, "started first and stopped last, only when `logdest` is not `stderr` (docs/logs.md)")
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | `run/%s.pid` | %s |\n",
			svc.Binary, runsAs(svc.Account), strings.Join(fds, ", "), svc.Name, strings.Join(notes, "; "))
	}
	return b.String()
}

func runsAs(a *accounts.Account) string {
	if a == nil {
		return "root"
	}
	return fmt.Sprintf("`%s` (group `%s`)", a.Name, a.Group)
}

func listener(kind string) (TCPListener, bool) {
	for _, l := range TCPListeners {
		if l.Kind == kind {
			return l, true
		}
	}
	return TCPListener{}, false
}

func and(w []string) string { return join(w, " and ") }
func or(w []string) string  { return join(w, " or ") }

func join(w []string, last string) string {
	if len(w) < 2 {
		return strings.Join(w, "")
	}
	return strings.Join(w[:len(w)-1], ", ") + last + w[len(w)-1]
}

func describeFD(name string) string {
	for _, sk := range Sockets {
		if sk.Name == name {
			return "`run/" + sk.File + "`"
		}
	}
	return "?" + name // the table names a socket it does not declare: TestTableConsistent fails
}

// server is the program that serves socket name.
func server(name string) string {
	for _, svc := range Services {
		for _, n := range svc.Sockets {
			if n == name {
				return "`" + svc.Binary + "`"
			}
		}
	}
	return "?"
}

// programsOf names the programs that run as account a.
func programsOf(a *accounts.Account) string {
	var p []string
	for _, svc := range Services {
		if svc.Account != nil && svc.Account.Name == a.Name {
			p = append(p, "`"+svc.Binary+"`")
		}
	}
	return strings.Join(p, ", ") + " (`" + a.Name + "`)"
}

// socketsMarkdown is the table of the Unix sockets: who serves, who may
// connect, the mode.
func socketsMarkdown() string {
	var b strings.Builder
	b.WriteString("| socket | server | who may connect | file mode | type |\n|---|---|---|---|---|\n")
	for _, sk := range Sockets {
		var who, owner string
		switch {
		case sk.Client != nil:
			who, owner = programsOf(sk.Client), "owned by `"+sk.Client.Name+"`"
		case sk.AdminOnly:
			who, owner = "the administrator", "owned by root (by the running user without root)"
		case len(sk.Clients) > 0:
			var c []string
			for _, a := range sk.Clients {
				c = append(c, programsOf(a))
			}
			who, owner = strings.Join(c, ", "), "owned by root, group `"+accounts.NoFiles+"`"
		case len(sk.Senders) > 0:
			var c []string
			for _, a := range sk.Senders {
				c = append(c, programsOf(a))
			}
			who = strings.Join(c, ", ") + " (anyone may write; the server counts only their uids, from SO_PASSCRED)"
		default:
			who = "anyone"
		}
		mode := fmt.Sprintf("%04o", uint32(sk.Mode()))
		if owner != "" {
			mode += ", " + owner
		}
		typ := "stream"
		if sk.Packet {
			typ = "SOCK_SEQPACKET"
		}
		if len(sk.Senders) > 0 {
			typ = "SOCK_DGRAM"
		}
		fmt.Fprintf(&b, "| `run/%s` | %s | %s | %s | %s |\n", sk.File, server(sk.Name), who, mode, typ)
	}
	return b.String()
}

// accountsMarkdown is the table of the system accounts and groups.
func accountsMarkdown() string {
	var b strings.Builder
	b.WriteString("| account | group | made by | for |\n|---|---|---|---|\n")
	for _, a := range accounts.All {
		fmt.Fprintf(&b, "| `%s` | `%s` | `goqmail install`, `goqmail init` as root | %s |\n", a.Name, a.Group, a.Purpose)
	}
	d := accounts.Demo
	fmt.Fprintf(&b, "| `%s` | `%s` | `goqmail init` as root | %s |\n", d.Name, d.Group, d.Purpose)
	var g []string
	for _, name := range accounts.Groups {
		g = append(g, "`"+name+"`")
	}
	fmt.Fprintf(&b, "\nGroups, created first: %s.\n", strings.Join(g, ", "))
	return b.String()
}
