package pop3

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"goqmail/internal/connlimit"
)

// Connection limits at accept, before the greeting or a TLS handshake:
// every POP3 listener shares one budget (concurrencypop3, which also
// bounds the mailbox processes started for logged-in sessions), and one
// client address (an IPv4 address, an IPv6 /64) may hold concurrencyperip
// sessions and make connectrateperip connections a minute, as on SMTP
// (internal/connlimit decides; docs/limits.md).

// Refusals at accept: RFC 2449's SYS/TEMP, a temporary condition that is
// not the user's fault and is worth trying again later.
var refusals = map[connlimit.Verdict]string{
	connlimit.OverTotal:  "-ERR [SYS/TEMP] too many connections; try again later\r\n",
	connlimit.OverClient: "-ERR [SYS/TEMP] too many connections from your address; try again later\r\n",
	connlimit.OverRate:   "-ERR [SYS/TEMP] too many connections from your address in the last minute; try again later\r\n",
}

// admit decides on a new connection; a refused one is answered and closed
// here (a 995 one without a word: a handshake only to refuse would be work
// for whoever floods us). Each client's first refusal in a minute is
// logged, with the count of those that were not.
func (s *Server) admit(conn net.Conn, implicitTLS bool) (*connlimit.Ticket, bool) {
	var ip netip.Addr
	if ta, ok := conn.RemoteAddr().(*net.TCPAddr); ok {
		ip = ta.AddrPort().Addr()
	}
	l := s.current().Limits
	d, tk := s.sessions.Admit(connlimit.Key(ip), false, l, time.Now())
	if tk != nil {
		return tk, true
	}
	if d.Report {
		var why string
		switch d.Verdict {
		case connlimit.OverTotal:
			why = fmt.Sprintf("%d sessions, the budget (concurrencypop3 %d) is used up", d.Sessions, l.Total)
		case connlimit.OverClient:
			why = fmt.Sprintf("%d sessions from this address already (concurrencyperip %d)", d.Client, l.PerClient)
		case connlimit.OverRate:
			why = fmt.Sprintf("%d connections from this address this minute (connectrateperip %d)", d.Attempts, l.Rate)
		}
		if d.Unreported > 0 {
			why += fmt.Sprintf("; %d more refused since the last report", d.Unreported)
		}
		s.Log.Printf("%s: refused: %s", conn.RemoteAddr(), why)
	}
	defer conn.Close()
	if !implicitTLS {
		conn.SetWriteDeadline(time.Now().Add(time.Second))
		conn.Write([]byte(refusals[d.Verdict]))
	}
	return nil, false
}
