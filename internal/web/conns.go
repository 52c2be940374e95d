package web

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"goqmail/internal/logline"
)

// clientKey is what the per-address limits count by: the address itself
// for IPv4, its /64 for IPv6. One IPv6 host is usually given a whole /64
// (RFC 6177) and can pick any address in it, so counting by address would
// let one client open 50 sessions per address of 2^64 (found in the
// security review of issue 15).
func clientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.WithZone("").Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}

// LimitListener bounds the connections one client (clientKey) holds open
// at once: more are closed as soon as they are accepted. Without it one
// address could open connections until goqmail-web runs out of file
// descriptors (its limit is 20,000 under goqmaild) and hold each for the
// server's timeouts (a slow request body: ReadTimeout, 5 minutes; an idle
// keep-alive: IdleTimeout), so that no one else is served (found in the
// security review of issue 15). A browser needs a few: one with HTTP/2,
// six with HTTP/1.1.
func LimitListener(ln net.Listener, perIP int, log *logline.Logger) net.Listener {
	return &limitListener{Listener: ln, open: newPerKey(perIP), log: log, logged: map[string]time.Time{}}
}

type limitListener struct {
	net.Listener
	open *perKey // connections open, per clientKey
	log  *logline.Logger

	mu     sync.Mutex
	logged map[string]time.Time // last log line per client: one a minute
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key := clientKey(hostOf(c.RemoteAddr()))
		if l.open.take(key) {
			return &limitedConn{Conn: c, l: l, key: key}, nil
		}
		c.Close()
		if l.log != nil && l.firstThisMinute(key) {
			l.log.Printf("warning: %s has %d connections open, the most one client may: closing its new ones", key, l.open.max)
		}
	}
}

// firstThisMinute says whether key's refusal is the first logged in a
// minute, and forgets clients refused longer ago (the map stays small).
func (l *limitListener) firstThisMinute(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	for k, t := range l.logged {
		if now.Sub(t) >= time.Minute {
			delete(l.logged, k)
		}
	}
	if _, quiet := l.logged[key]; quiet {
		return false
	}
	l.logged[key] = now
	return true
}

func (l *limitListener) release(key string) { l.open.give(key) }

type limitedConn struct {
	net.Conn
	l    *limitListener
	key  string
	once sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.key) })
	return err
}

func hostOf(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// Limit wraps a listener of the front with LimitListener and the server's
// Limits.ConnsPerIP.
func (s *Server) Limit(ln net.Listener) net.Listener {
	return LimitListener(ln, s.lim.ConnsPerIP, s.log)
}
