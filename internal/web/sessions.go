package web

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"sync"
	"time"

	"goqmail/internal/webrpc"
)

// Limits bound what the front holds for the logged-in. A web session holds
// one or two session processes (goqmail-webmbox, goqmail admin-session)
// and their sockets, so the table is bounded in all, per user and per
// client address: one address must not fill it (it could otherwise lock
// everyone out, or exhaust processes), and a user logging in from many
// browsers must not either.
type Limits struct {
	Idle        time.Duration // a session unused this long ends
	Absolute    time.Duration // a session ends this long after the login, used or not
	MaxSessions int           // in all
	PerUser     int           // a new login beyond this ends the user's oldest session
	PerIP       int           // a new login from an address beyond this is refused
	LoginsPerIP int           // logins waiting for goqmail-auth from one address
	Logins      int           // logins waiting in all
	MaxUpload   int64         // a compose form with its files, bytes
	ConnsPerIP  int           // connections one client holds open (LimitListener)
}

// DefaultLimits are used for zero fields.
var DefaultLimits = Limits{
	Idle:        30 * time.Minute,
	Absolute:    12 * time.Hour,
	MaxSessions: 1000,
	PerUser:     10,
	PerIP:       50,
	LoginsPerIP: 3,
	Logins:      32,
	MaxUpload:   25 << 20,
	ConnsPerIP:  64,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.Idle > 0 {
		d.Idle = l.Idle
	}
	if l.Absolute > 0 {
		d.Absolute = l.Absolute
	}
	if l.MaxSessions > 0 {
		d.MaxSessions = l.MaxSessions
	}
	if l.PerUser > 0 {
		d.PerUser = l.PerUser
	}
	if l.PerIP > 0 {
		d.PerIP = l.PerIP
	}
	if l.LoginsPerIP > 0 {
		d.LoginsPerIP = l.LoginsPerIP
	}
	if l.Logins > 0 {
		d.Logins = l.Logins
	}
	if l.MaxUpload > 0 {
		d.MaxUpload = l.MaxUpload
	}
	if l.ConnsPerIP > 0 {
		d.ConnsPerIP = l.ConnsPerIP
	}
	return d
}

// session is one logged-in browser.
type session struct {
	key     [32]byte // sha256 of the cookie value: the table never holds the secret itself
	csrf    string   // the token every form of this session carries
	user    string
	role    string // "site", "domain" or ""
	domain  string
	ip      string // clientKey of the login's address (PerIP counts by it)
	mbox    *webrpc.Client
	admin   *webrpc.Client // nil without an admin role
	created time.Time
	seq     uint64 // order of logins (created may tie)

	mu       sync.Mutex
	lastSeen time.Time
	flash    string // one message for the next page (post/redirect/get)
}

func (s *session) setFlash(msg string) {
	s.mu.Lock()
	s.flash = msg
	s.mu.Unlock()
}

func (s *session) takeFlash() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.flash
	s.flash = ""
	return f
}

// close ends the session processes: they see EOF and exit.
func (s *session) close() {
	if s.mbox != nil {
		s.mbox.Close()
	}
	if s.admin != nil {
		s.admin.Close()
	}
}

var (
	errTooManyFromIP = errors.New("too many sessions from your address; log out elsewhere or try again later")
	errTableFull     = errors.New("too many people are logged in; try again later")
)

// sessionTable is the server-side table of web sessions.
type sessionTable struct {
	lim Limits
	now func() time.Time

	mu   sync.Mutex
	byID map[[32]byte]*session
	seq  uint64
}

func newSessionTable(lim Limits, now func() time.Time) *sessionTable {
	return &sessionTable{lim: lim, now: now, byID: map[[32]byte]*session{}}
}

// newToken returns 256 random bits, base64url without padding.
func newToken() string {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func keyOf(id string) [32]byte { return sha256.Sum256([]byte(id)) }

func (t *sessionTable) expired(s *session, now time.Time) bool {
	s.mu.Lock()
	last := s.lastSeen
	s.mu.Unlock()
	return now.Sub(last) >= t.lim.Idle || now.Sub(s.created) >= t.lim.Absolute
}

// add enters s under a new id and returns the id (the cookie value). The
// user's oldest session ends when the user is at PerUser; an address at
// PerIP or a full table is refused.
func (t *sessionTable) add(s *session) (string, error) {
	var done []*session
	defer func() {
		for _, d := range done {
			d.close()
		}
	}()
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	done = t.sweepLocked(now)
	var oldest *session
	users, ips := 0, 0
	for _, o := range t.byID {
		if o.user == s.user {
			users++
			if oldest == nil || o.seq < oldest.seq {
				oldest = o
			}
		}
		if o.ip == s.ip {
			ips++
		}
	}
	if ips >= t.lim.PerIP {
		return "", errTooManyFromIP
	}
	if users >= t.lim.PerUser && oldest != nil {
		delete(t.byID, oldest.key)
		done = append(done, oldest)
	} else if len(t.byID) >= t.lim.MaxSessions {
		return "", errTableFull
	}
	id := newToken()
	s.key = keyOf(id)
	s.csrf = newToken()
	s.created, s.lastSeen = now, now
	t.seq++
	s.seq = t.seq
	t.byID[s.key] = s
	return id, nil
}

// ipFull says whether the client key ip holds PerIP live sessions.
func (t *sessionTable) ipFull(ip string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	now, n := t.now(), 0
	for _, o := range t.byID {
		if o.ip == ip && !t.expired(o, now) {
			n++
		}
	}
	return n >= t.lim.PerIP
}

// get returns the live session of id and marks it used, or nil.
func (t *sessionTable) get(id string) *session {
	if id == "" {
		return nil
	}
	t.mu.Lock()
	s := t.byID[keyOf(id)]
	now := t.now()
	if s != nil && t.expired(s, now) {
		delete(t.byID, s.key)
		t.mu.Unlock()
		s.close()
		return nil
	}
	t.mu.Unlock()
	if s != nil {
		s.mu.Lock()
		s.lastSeen = now
		s.mu.Unlock()
	}
	return s
}

// remove ends s (logout, a broken session process).
func (t *sessionTable) remove(s *session) {
	t.mu.Lock()
	if t.byID[s.key] == s {
		delete(t.byID, s.key)
	}
	t.mu.Unlock()
	s.close()
}

// sweep ends expired sessions; the server calls it every minute so that
// session processes of abandoned browsers exit.
func (t *sessionTable) sweep() {
	t.mu.Lock()
	done := t.sweepLocked(t.now())
	t.mu.Unlock()
	for _, s := range done {
		s.close()
	}
}

func (t *sessionTable) sweepLocked(now time.Time) []*session {
	var done []*session
	for k, s := range t.byID {
		if t.expired(s, now) {
			delete(t.byID, k)
			done = append(done, s)
		}
	}
	return done
}

// closeAll ends every session (the program stops).
func (t *sessionTable) closeAll() {
	t.mu.Lock()
	all := t.byID
	t.byID = map[[32]byte]*session{}
	t.mu.Unlock()
	for _, s := range all {
		s.close()
	}
}

func (t *sessionTable) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.byID)
}

// loginGate bounds logins waiting for goqmail-auth (which sleeps before
// answering a wrong password): per client address and in all, so one
// address cannot hold every slot.
type loginGate struct {
	perIP, total int

	mu   sync.Mutex
	n    int
	byIP map[string]int
}

func (g *loginGate) acquire(ip string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.byIP == nil {
		g.byIP = map[string]int{}
	}
	if g.n >= g.total || g.byIP[ip] >= g.perIP {
		return false
	}
	g.n++
	g.byIP[ip]++
	return true
}

func (g *loginGate) release(ip string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n--
	if g.byIP[ip]--; g.byIP[ip] <= 0 {
		delete(g.byIP, ip)
	}
}
