package authd

import (
	"context"
	"fmt"
	"net/netip"

	"goqmail/internal/connlimit"
	"goqmail/internal/proto"
)

// What one client address can make the service do at once (issue 11): a
// loop of bad logins from one address used to run as many password
// checks in parallel as it had connections, taking most of a core and
// delaying everyone's logins. Now
//
//   - an address (IPv4, IPv6 /64; SMTP AUTH and POP3 together) has at most
//     MaxPerIP logins in progress, the failure delay included: one more
//     is answered at once as a temporary failure, its password unchecked;
//   - at most MaxVerifications password checks run at once, the others
//     wait in order of arrival (connlimit.Gate), so a burst from many
//     addresses is a queue, not a CPU shared by all of them.
//
// With the failure delay of throttle.go (up to 10 s per failure, holding
// the address's place), one address gets through at most MaxPerIP guesses
// per 10 s; everyone else's login waits for at most the checks ahead of it.

// textBusy answers a login refused for its address's limit; clients show
// it as a temporary failure (SMTP 454 4.7.0, POP3 -ERR [SYS/TEMP]).
const textBusy = "too many logins at once from this address; try again later"

// enter takes a place for a login from remoteIP. It returns the function
// that gives it back, or the answer to give instead.
func (s *Server) enter(ctx context.Context, what, remoteIP string) (func(), *proto.Verified) {
	st := s.settings.Load()
	ip, _ := netip.ParseAddr(remoteIP)
	d, tk := s.logins.Admit(connlimit.Key(ip), false, connlimit.Limits{PerClient: st.MaxPerIP}, s.cfg.Now())
	if tk == nil {
		if d.Report {
			more := ""
			if d.Unreported > 0 {
				more = fmt.Sprintf("; %d more refused since the last report", d.Unreported)
			}
			s.cfg.Log.Printf("warning: %s: refused unchecked: %d logins from this address in progress (authconcurrencyperip %d)%s",
				what, d.Client, st.MaxPerIP, more)
		}
		return nil, &proto.Verified{Temporary: true, Text: textBusy}
	}
	return tk.Release, nil
}

// checkGated runs check once a verification slot is free. A request whose
// context ends in the queue is a temporary failure.
func (s *Server) checkGated(ctx context.Context, cr credential) (*identity, outcome, string) {
	limit := s.settings.Load().MaxVerifications
	if err := s.verify.Enter(ctx, limit); err != nil {
		busy, waiting := s.verify.Load()
		return nil, outTemp, fmt.Sprintf("no verification slot in time (authconcurrency %d, %d running, %d waiting): %v", limit, busy, waiting, err)
	}
	defer s.verify.Leave(s.settings.Load().MaxVerifications)
	return s.check(ctx, cr)
}
