package policydns

import (
	"container/list"
	"context"
	"errors"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// key is one question.
type key struct {
	name  string // lower case, fully qualified
	qtype uint16
}

// entry is one cached answer: the records of the asked type (CNAMEs
// followed), or the error, until expires.
type entry struct {
	k       key
	rrs     []dns.RR
	err     *net.DNSError
	expires time.Time
}

// cache holds up to size answers, the least recently used going first
// when it is full, and each only until its TTL runs out.
type cache struct {
	size  int
	lru   *list.List // of *entry, most recent at the front
	index map[key]*list.Element
}

func newCache(size int) *cache {
	return &cache{size: size, lru: list.New(), index: map[key]*list.Element{}}
}

func (c *cache) get(k key, now time.Time) (*entry, bool) {
	el, ok := c.index[k]
	if !ok {
		return nil, false
	}
	e := el.Value.(*entry)
	if !now.Before(e.expires) {
		c.lru.Remove(el)
		delete(c.index, k)
		return nil, false
	}
	c.lru.MoveToFront(el)
	return e, true
}

func (c *cache) put(e *entry) {
	if el, ok := c.index[e.k]; ok {
		el.Value = e
		c.lru.MoveToFront(el)
		return
	}
	c.index[e.k] = c.lru.PushFront(e)
	for c.lru.Len() > c.size {
		old := c.lru.Back()
		c.lru.Remove(old)
		delete(c.index, old.Value.(*entry).k)
	}
}

// len is the number of answers held, expired ones included.
func (c *cache) len() int { return c.lru.Len() }

// call is a lookup in progress, which others asking the same question
// wait for instead of asking again.
type call struct {
	done chan struct{}
	e    *entry
}

// lookup answers one question from the cache or the network.
func (r *Resolver) lookup(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	if _, ok := dns.IsDomainName(name); !ok || name == "" {
		return nil, &net.DNSError{Err: "invalid domain name", Name: name}
	}
	k := key{strings.ToLower(dns.Fqdn(name)), qtype}
	r.mu.Lock()
	if e, ok := r.cache.get(k, r.now()); ok {
		r.mu.Unlock()
		return result(e)
	}
	c, waiting := r.inflight[k]
	if !waiting {
		c = &call{done: make(chan struct{})}
		r.inflight[k] = c
	}
	r.mu.Unlock()
	if !waiting {
		go r.resolve(k, c)
	}
	select {
	case <-c.done:
		return result(c.e)
	case <-ctx.Done():
		return nil, timeoutErr(name, "", ctx.Err())
	}
}

func result(e *entry) ([]dns.RR, error) {
	if e.err != nil {
		return nil, e.err
	}
	return e.rrs, nil
}

// resolve asks the servers, caches the answer and hands it to the
// waiters. It runs on its own, bounded by the resolver's timeout, so a
// waiter that gives up early does not cut the lookup short for others.
func (r *Resolver) resolve(k key, c *call) {
	r.mu.Lock()
	servers, timeout := r.servers, r.timeout
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	ask := exchange
	if r.transport != nil {
		ask = r.transport
	}
	msg, server, err := ask(ctx, servers, k.name, k.qtype)
	cancel()
	now := r.now()
	e := &entry{k: k}
	switch {
	case err != nil:
		if !errors.As(err, &e.err) {
			e.err = &net.DNSError{Err: err.Error(), Name: strings.TrimSuffix(k.name, "."), IsTemporary: true, UnwrapErr: err}
		}
		e.expires = now.Add(failTTL)
	default:
		var ttl time.Duration
		e.rrs, ttl = answerOf(msg, k.name, k.qtype)
		if len(e.rrs) == 0 {
			e.err = notFound(strings.TrimSuffix(k.name, "."), server)
			ttl = negativeTTL(msg)
		}
		e.expires = now.Add(min(ttl, maxTTL))
	}
	r.mu.Lock()
	if e.expires.After(now) {
		r.cache.put(e)
	}
	delete(r.inflight, k)
	r.mu.Unlock()
	c.e = e
	close(c.done)
}

// answerOf picks the records of qtype for name out of a recursive
// server's answer, following CNAMEs inside it (RFC 1034 3.6.2) for up to
// 8 links, and returns them with the smallest TTL on the way.
func answerOf(m *dns.Msg, name string, qtype uint16) ([]dns.RR, time.Duration) {
	ttl := uint32(1<<32 - 1)
	for hops := 0; hops < 8; hops++ {
		var out []dns.RR
		var cname string
		for _, rr := range m.Answer {
			h := rr.Header()
			if !strings.EqualFold(h.Name, name) || h.Class != dns.ClassINET {
				continue
			}
			switch {
			case h.Rrtype == qtype:
				out = append(out, rr)
			case h.Rrtype == dns.TypeCNAME && qtype != dns.TypeCNAME:
				cname = rr.(*dns.CNAME).Target
				ttl = min(ttl, h.Ttl)
			}
		}
		if len(out) > 0 {
			for _, rr := range out {
				ttl = min(ttl, rr.Header().Ttl)
			}
			return out, time.Duration(ttl) * time.Second
		}
		if cname == "" {
			return nil, 0
		}
		name = cname
	}
	return nil, 0
}

// negativeTTL is how long "no such record" may be cached: the SOA in the
// authority section says, as the smaller of its own TTL and its MINIMUM
// (RFC 2308 section 5). Without an SOA it may not be cached at all.
func negativeTTL(m *dns.Msg) time.Duration {
	for _, rr := range m.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			return time.Duration(min(soa.Hdr.Ttl, soa.Minttl)) * time.Second
		}
	}
	return 0
}
