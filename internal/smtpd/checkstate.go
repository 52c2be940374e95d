package smtpd

import (
	"path/filepath"
	"time"

	"goqmail/internal/greylist"
	"goqmail/internal/policydns"
)

// The state the checks keep across sessions and reloads: the policy DNS
// resolver with its cache, and the greylisting table.

// greyFlushEvery is how often a changed greylisting table is written
// (internal/greylist says why not at every change).
const greyFlushEvery = time.Minute

// setChecks is SetConfig's part for the checks: the resolver gets the
// servers and timeout of c (its cache stays).
func (s *Server) setChecks(c *Config) {
	k := &c.Checks
	if s.DNS == nil {
		s.DNS = policydns.New(k.DNSServers, k.DNSTimeout, 0)
	} else if r, ok := s.DNS.(*policydns.Resolver); ok {
		r.Configure(k.DNSServers, k.DNSTimeout)
	}
}

// LoadGreylist reads greylisting's state when the configuration turns
// greylisting on and it is not loaded yet, and from then on writes it once
// a minute when it changed. goqmail-smtpd calls it after each SetConfig
// (sendmail -bs, which greylists nothing, never does). Until it succeeds,
// recipients that would be greylisted get 451 4.3.0.
func (s *Server) LoadGreylist() error {
	k := &s.cfg.Load().Checks
	if k.Grey.Delay <= 0 || s.greylist.Load() != nil {
		return nil
	}
	st, warnings, err := greylist.Open(filepath.Join(k.GreyDir, GreyStateFile), 0)
	for _, w := range warnings {
		s.Log.Printf("warning: %s", w)
	}
	if err != nil {
		return err
	}
	s.greylist.Store(st)
	s.Log.Printf("status: greylisting state loaded: %d triplets", st.Len())
	go func() {
		for range time.Tick(greyFlushEvery) {
			s.FlushGreylist()
		}
	}()
	return nil
}

// FlushGreylist writes the greylisting table if it changed; smtpd calls
// it when it stops. A failure is logged: the table stays in memory and
// the next flush tries again.
func (s *Server) FlushGreylist() {
	st := s.greylist.Load()
	if st == nil {
		return
	}
	if err := st.Flush(s.Now(), s.cfg.Load().Checks.Grey); err != nil {
		s.Log.Printf("warning: %v", err)
	}
}
