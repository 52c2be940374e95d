// Package rewrite is qmail-send's address rewriting: it decides whether a
// recipient is delivered locally or remotely and, for virtual domains,
// which local address receives it. send uses it to classify recipients and
// `goqmail queue list` to show each recipient's channel, so both always
// agree.
//
// Order, as in qmail-send rewrite(): an address without '@' gets
// envnoathost; percenthack turns u%h@domain into u@h, repeatedly, for
// listed domains; a domain in locals is local as it is; otherwise
// domains of the virtual-user directory (internal/vdir) are local and
// virtual; then virtualdomains is consulted (full address, then the domain, then its
// `.suffix` entries from the longest, then the catch-all `:prepend`) and a
// match with a non-empty prepend is local as `prepend-address`; everything
// else is remote.
package rewrite

import (
	"strings"

	"goqmail/internal/control"
)

// Channel is where a recipient is delivered.
type Channel int

const (
	Local Channel = iota
	Remote
)

func (c Channel) String() string {
	if c == Local {
		return "local"
	}
	return "remote"
}

// Rules holds the rewriting tables; it is immutable once built.
type Rules struct {
	dir         DomainChecker
	envNoAtHost string
	locals      *control.DomainSet
	percent     map[string]bool
	virtual     map[string]string // lowercased key ("addr", "domain", ".suffix", "") -> prepend
}

// DomainChecker says whether a domain is served by the virtual-user
// directory (vdir.Directory satisfies it).
type DomainChecker interface {
	IsDomain(name string) (bool, error)
}

// WithDirectory returns a copy of r that also routes the directory's
// domains (after locals, before virtualdomains).
func (r *Rules) WithDirectory(d DomainChecker) *Rules {
	c := *r
	c.dir = d
	return &c
}

// New builds rules from a control snapshot.
func New(s *control.Snapshot) *Rules {
	return Build(s.Line(control.EnvNoAtHost), s.List(control.Locals), s.List(control.PercentHack), s.List(control.VirtualDomains))
}

// Build makes rules from the raw list entries. A virtualdomains line
// without ':' is ignored, as qmail's constmap load skips it.
func Build(envNoAtHost string, locals, percenthack, virtualdomains []string) *Rules {
	r := &Rules{envNoAtHost: envNoAtHost, locals: control.NewDomainSet(locals),
		percent: map[string]bool{}, virtual: map[string]string{}}
	for _, d := range percenthack {
		r.percent[strings.ToLower(d)] = true
	}
	for _, line := range virtualdomains {
		i := strings.IndexByte(line, ':')
		if i < 0 {
			continue
		}
		key := strings.ToLower(line[:i])
		if _, dup := r.virtual[key]; !dup { // first entry wins (constmap)
			r.virtual[key] = line[i+1:]
		}
	}
	return r
}

// Result is where one recipient goes.
type Result struct {
	Channel Channel
	// Addr is the address to deliver to: for local recipients the address
	// the spawner looks up (with the virtual domain's prepend), for remote
	// ones the address after envnoathost and percenthack.
	Addr string
	// Prepend is the virtualdomains prepend used ("" if none); bounces
	// strip it again (qmail stripvdomprepend).
	Prepend string
	// Virtual: a domain of the virtual-user directory; delivered as the
	// virtual account through the directory (docs/virtual.md).
	Virtual bool
}

// Route rewrites one envelope recipient.
func (r *Rules) Route(addr string) Result {
	if strings.LastIndexByte(addr, '@') < 0 {
		addr = addr + "@" + r.envNoAtHost
	}
	for i := 0; i < 100; i++ { // bounded: each pass removes one '%'
		at := strings.LastIndexByte(addr, '@')
		if !r.percent[strings.ToLower(addr[at+1:])] {
			break
		}
		p := strings.LastIndexByte(addr[:at], '%')
		if p < 0 {
			break
		}
		addr = addr[:p] + "@" + addr[p+1:at]
	}
	at := strings.LastIndexByte(addr, '@')
	domain := addr[at+1:]
	if r.locals.Exact(domain) {
		return Result{Channel: Local, Addr: addr}
	}
	if r.dir != nil {
		// A directory that cannot be read counts as serving the domain:
		// local delivery then defers until it can tell, where guessing
		// "remote" could send our own users' mail away.
		if ok, err := r.dir.IsDomain(strings.ToLower(domain)); ok || err != nil {
			return Result{Channel: Local, Addr: addr, Virtual: true}
		}
	}
	if prepend, ok := r.lookupVirtual(addr, domain); ok && prepend != "" {
		return Result{Channel: Local, Addr: prepend + "-" + addr, Prepend: prepend}
	}
	return Result{Channel: Remote, Addr: addr}
}

func (r *Rules) lookupVirtual(addr, domain string) (string, bool) {
	if len(r.virtual) == 0 {
		return "", false
	}
	if p, ok := r.virtual[strings.ToLower(addr)]; ok {
		return p, true
	}
	domain = strings.ToLower(domain)
	if p, ok := r.virtual[domain]; ok {
		return p, true
	}
	for i := 0; i < len(domain); i++ {
		if domain[i] == '.' {
			if p, ok := r.virtual[domain[i:]]; ok {
				return p, true
			}
		}
	}
	p, ok := r.virtual[""]
	return p, ok
}
