package mtasts

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"goqmail/internal/route"
)

// FetchTimeout bounds one policy fetch: DNS, connect, TLS and body.
const FetchTimeout = 60 * time.Second

// maxEntries bounds the cache; beyond it the oldest-expiring entry goes.
const maxEntries = 10000

// RetryFetch is how long a failed fetch of one record id is remembered:
// meanwhile deliveries to the domain do not wait for another fetch (up to
// FetchTimeout each) but go on with the cached policy, or none.
const RetryFetch = 5 * time.Minute

// Failure types of RFC 8460 4.3 that a policy lookup can produce.
const (
	FailFetch   = "sts-policy-fetch-error"
	FailInvalid = "sts-policy-invalid"
	FailWebPKI  = "sts-webpki-invalid"
)

// Lookup is the outcome of looking up a domain's policy.
type Lookup struct {
	Policy *Policy // nil: no policy in force
	ID     string  // the record's id of the policy in force
	// Failure, when not "", is the RFC 8460 result type of a failed fetch
	// or parse (the domain then has no policy, or its cached one), and
	// Detail says what went wrong, for TLS-RPT and the logs.
	Failure string
	Detail  string
	Cached  bool // the policy came from the cache without a fetch
}

// Cache finds and remembers the policies of recipient domains (RFC 8461
// 5.1): the TXT record is looked up at every delivery; a policy is
// fetched when there is no cached one, when the record's id changed, or
// when the cached one expired (max_age); a failed fetch keeps an
// unexpired cached policy. It is kept in memory only: goqmail-remote
// writes nothing on disk, so after a restart the first delivery to each
// domain fetches again.
type Cache struct {
	Resolver interface {
		LookupTXT(ctx context.Context, name string) ([]string, error)
	}
	Client *http.Client // NewHTTPClient
	Now    func() time.Time

	mu      sync.Mutex
	entries map[string]*entry
	failed  map[string]failure // domain -> the last failed fetch
}

type failure struct {
	id, kind, detail string
	until            time.Time
}

type entry struct {
	id      string
	policy  *Policy
	expires time.Time
}

func (c *Cache) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Lookup returns the policy in force for domain.
func (c *Cache) Lookup(ctx context.Context, domain string) Lookup {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	c.mu.Lock()
	e := c.entries[domain]
	c.mu.Unlock()
	now := c.now()
	if e != nil && !now.Before(e.expires) {
		e = nil
	}
	cached := func(l Lookup) Lookup {
		if e != nil {
			l.Policy, l.ID, l.Cached = e.policy, e.id, true
		}
		return l
	}
	txts, err := c.Resolver.LookupTXT(ctx, "_mta-sts."+domain)
	if err != nil {
		// No record, or DNS trouble: an unexpired cached policy stays in
		// force (RFC 8461 5.1), so an attacker who blocks the TXT lookup
		// does not turn off a policy we saw.
		return cached(Lookup{})
	}
	var recs []Record
	var bad []string
	for _, t := range txts {
		if !IsRecord(t) {
			continue
		}
		r, err := ParseRecord(t)
		if err != nil {
			bad = append(bad, err.Error())
			continue
		}
		recs = append(recs, r)
	}
	if len(recs) != 1 {
		// None, or several: no usable record (RFC 8461 3.1).
		if len(recs) > 1 || len(bad) > 0 {
			return cached(Lookup{Failure: FailInvalid, Detail: fmt.Sprintf("%d valid and %d invalid MTA-STS records %s", len(recs), len(bad), strings.Join(bad, "; "))})
		}
		return cached(Lookup{})
	}
	if e != nil && e.id == recs[0].ID {
		return cached(Lookup{})
	}
	c.mu.Lock()
	f, ok := c.failed[domain]
	c.mu.Unlock()
	if ok && f.id == recs[0].ID && now.Before(f.until) {
		return cached(Lookup{Failure: f.kind, Detail: f.detail + " (not retried before " + f.until.UTC().Format(time.RFC3339) + ")"})
	}
	p, fail, err := c.fetch(ctx, domain)
	if err != nil {
		c.mu.Lock()
		if c.failed == nil {
			c.failed = map[string]failure{}
		}
		if len(c.failed) >= maxEntries {
			clear(c.failed)
		}
		c.failed[domain] = failure{id: recs[0].ID, kind: fail, detail: err.Error(), until: now.Add(RetryFetch)}
		c.mu.Unlock()
		return cached(Lookup{Failure: fail, Detail: err.Error()})
	}
	ne := &entry{id: recs[0].ID, policy: p, expires: now.Add(time.Duration(p.MaxAge) * time.Second)}
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[string]*entry{}
	}
	if len(c.entries) >= maxEntries {
		c.evict()
	}
	c.entries[domain] = ne
	c.mu.Unlock()
	if p.Mode == None {
		return Lookup{ID: ne.id}
	}
	return Lookup{Policy: p, ID: ne.id}
}

// evict drops the entry that expires first; c.mu is held.
func (c *Cache) evict() {
	var oldest string
	var t time.Time
	for d, e := range c.entries {
		if oldest == "" || e.expires.Before(t) {
			oldest, t = d, e.expires
		}
	}
	delete(c.entries, oldest)
}

// fetch gets https://mta-sts.DOMAIN/.well-known/mta-sts.txt (RFC 8461
// 3.3): a valid certificate for that name, status 200, no redirects,
// text/plain, at most MaxPolicySize bytes.
func (c *Cache) fetch(ctx context.Context, domain string) (*Policy, string, error) {
	ctx, cancel := context.WithTimeout(ctx, FetchTimeout)
	defer cancel()
	url := "https://mta-sts." + domain + "/.well-known/mta-sts.txt"
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return nil, FailFetch, fmt.Errorf("fetching %s: %w", url, err)
	}
	resp, err := c.Client.Do(req)
	if err != nil {
		var ce *tls.CertificateVerificationError
		var he x509.HostnameError
		if errors.As(err, &ce) || errors.As(err, &he) {
			return nil, FailWebPKI, fmt.Errorf("fetching %s: %w", url, err)
		}
		return nil, FailFetch, fmt.Errorf("fetching %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, FailFetch, fmt.Errorf("fetching %s: HTTP status %s", url, resp.Status)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "text/plain" {
		return nil, FailInvalid, fmt.Errorf("fetching %s: content type %q, not text/plain", url, resp.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxPolicySize+1))
	if err != nil {
		return nil, FailFetch, fmt.Errorf("fetching %s: %w", url, err)
	}
	p, err := ParsePolicy(body)
	if err != nil {
		return nil, FailInvalid, fmt.Errorf("%s: %w", url, err)
	}
	return p, "", nil
}

// NewHTTPClient returns the client that fetches policies: host names
// resolved through r (the same DNS as the delivery), certificates checked
// against roots (nil: the system's), port 443 unless port says otherwise
// (test networks), redirects refused (RFC 8461 3.3), no proxy, no cookies.
func NewHTTPClient(r route.Resolver, roots *x509.CertPool, port uint16) *http.Client {
	if port == 0 {
		port = 443
	}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		ips, err := r.LookupIP(ctx, host)
		if err != nil {
			return nil, err
		}
		var d net.Dialer
		var last error = fmt.Errorf("no address for %s", host)
		for _, ip := range ips {
			c, err := d.DialContext(ctx, network, netip.AddrPortFrom(ip, port).String())
			if err == nil {
				return c, nil
			}
			last = err
		}
		return nil, last
	}
	tr := &http.Transport{
		DialContext:           dial,
		TLSClientConfig:       &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   30 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		MaxIdleConns:          10,
		IdleConnTimeout:       30 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return errors.New("redirects are not followed (RFC 8461 3.3)")
		},
	}
}

// PolicyID is the id of goqmail's own _mta-sts record: it only has to
// change when the policy does (RFC 8461 3.1), so it is the FNV-1a hash
// of the policy's text, in base 36.
func PolicyID(p *Policy) string {
	h := fnv.New64a()
	h.Write([]byte(p.String()))
	return strconv.FormatUint(h.Sum64(), 36)
}
