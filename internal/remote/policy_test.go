package remote

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"goqmail/internal/mtasts"
	"goqmail/internal/route"
	"goqmail/internal/route/dnstest"
)

// The policy tests run against the real resolver and a DNS server on
// loopback that sets the AD bit like a validator (dnstest), an HTTPS
// server for the MTA-STS policies, and the fake SMTP peers.

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue makes a server certificate for names; withCA appends the CA's
// certificate to the chain (DANE-TA needs the server to send it).
func (ca *testCA) issue(t *testing.T, withCA bool, names ...string) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: names[0]},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), DNSNames: names,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	c := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	if withCA {
		c.Certificate = append(c.Certificate, ca.cert.Raw)
	}
	c.Leaf, _ = x509.ParseCertificate(der)
	return c
}

func tlsaOf(selector1 bool, cert *x509.Certificate, usage int) string {
	data := cert.Raw
	sel := 0
	if selector1 {
		data, sel = cert.RawSubjectPublicKeyInfo, 1
	}
	h := sha256.Sum256(data)
	return fmt.Sprintf("%d %d 1 %s", usage, sel, hex.EncodeToString(h[:]))
}

// policyWorld is one test network: DNS, the policy web server, and a
// client that uses both.
type policyWorld struct {
	dns      *dnstest.Server
	webCA    *testCA // issues the MTA-STS web server's certificate
	mxCA     *testCA // issues the SMTP peers' certificates (trusted by the client)
	client   *Client
	mu       sync.Mutex
	policies map[string]string // host -> policy body
	reports  []TLSOutcome
}

func newPolicyWorld(t *testing.T, zone string) *policyWorld {
	w := &policyWorld{webCA: newTestCA(t, "web CA"), mxCA: newTestCA(t, "mx CA"), policies: map[string]string{}}
	web := httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		w.mu.Lock()
		body, ok := w.policies[strings.ToLower(host)]
		w.mu.Unlock()
		if !ok || r.URL.Path != "/.well-known/mta-sts.txt" {
			http.NotFound(rw, r)
			return
		}
		rw.Header().Set("Content-Type", "text/plain")
		rw.Write([]byte(body))
	}))
	web.TLS = &tls.Config{GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
		c := w.webCA.issue(t, false, h.ServerName)
		return &c, nil
	}}
	web.StartTLS()
	t.Cleanup(web.Close)
	_, ps, _ := net.SplitHostPort(web.Listener.Addr().String())
	webPort, _ := strconv.Atoi(ps)
	w.dns = dnstest.Start(t, zone)
	r := route.NewDNS(w.dns.Addr)
	w.client = newClient(t, r, 0)
	w.client.TLSConfig = &tls.Config{RootCAs: w.mxCA.pool}
	w.client.DANE = r
	w.client.MTASTS = &mtasts.Cache{Resolver: r, Client: mtasts.NewHTTPClient(r, w.webCA.pool, uint16(webPort))}
	w.client.Report = func(o TLSOutcome) {
		w.mu.Lock()
		w.reports = append(w.reports, o)
		w.mu.Unlock()
	}
	return w
}

func (w *policyWorld) policy(t *testing.T, domain, body string) {
	w.mu.Lock()
	w.policies["mta-sts."+domain] = body
	w.mu.Unlock()
	w.dns.Add(t, fmt.Sprintf("_mta-sts.%s. 300 IN TXT \"v=STSv1; id=%d;\"\nmta-sts.%s. 300 IN A 127.0.0.1", domain, time.Now().UnixNano(), domain))
}

func (w *policyWorld) failures() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, r := range w.reports {
		if r.Failure != "" {
			out = append(out, r.PolicyType+":"+r.Failure)
		}
	}
	return out
}

// deliver sends one message to rcpt@domain through peer p (whose port
// the client uses for every MX).
func (w *policyWorld) deliver(p *peer, domain string) Result {
	w.client.Port = p.addr.Port()
	w.client.init()
	w.client.finder.Port = p.addr.Port()
	res := w.client.Deliver(context.Background(), job(domain, "Subject: x\n\nhello\n", "rcpt"))
	return res[0]
}

const enforce = "version: STSv1\nmode: enforce\nmx: mx.%s\nmax_age: 86400\n"

func mxZone(domains ...string) string {
	var b strings.Builder
	for _, d := range domains {
		fmt.Fprintf(&b, "%s. 300 IN MX 10 mx.%s.\nmx.%s. 300 IN A 127.0.0.2\n", d, d, d)
	}
	return b.String()
}

func TestMTASTSEnforce(t *testing.T) {
	w := newPolicyWorld(t, mxZone("good.test", "badcert.test", "plain.test", "notlisted.test", "testing.test"))
	for _, d := range []string{"good.test", "badcert.test", "plain.test"} {
		w.policy(t, d, fmt.Sprintf(enforce, d))
	}
	w.policy(t, "notlisted.test", "version: STSv1\nmode: enforce\nmx: other.notlisted.test\nmax_age: 86400\n")
	w.policy(t, "testing.test", "version: STSv1\nmode: testing\nmx: mx.testing.test\nmax_age: 86400\n")

	good := w.mxCA.issue(t, false, "mx.good.test")
	other := w.mxCA.issue(t, false, "mx.somewhere-else.test") // valid, but for another name
	for _, tc := range []struct {
		name, domain string
		sv           server
		want, text   string
		mail         bool
	}{
		{"good certificate delivers", "good.test", server{tls: &tls.Config{Certificates: []tls.Certificate{good}}}, "K", "accepted message", true},
		{"bad certificate defers", "badcert.test", server{tls: &tls.Config{Certificates: []tls.Certificate{other}}}, "Z", "MTA-STS enforce", false},
		{"no STARTTLS defers", "plain.test", server{}, "Z", "does not offer STARTTLS", false},
		{"MX not in the policy defers", "notlisted.test", server{tls: &tls.Config{Certificates: []tls.Certificate{good}}}, "Z", "not named by its MTA-STS policy", false},
		{"testing mode delivers and reports", "testing.test", server{tls: &tls.Config{Certificates: []tls.Certificate{other}}}, "K", "accepted message", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startPeer(t, "127.0.0.2", 0, tc.sv.serve)
			r := w.deliver(p, tc.domain)
			if string(r.Code) != tc.want || !strings.Contains(r.Text, tc.text) {
				t.Fatalf("got %c %q; want %s containing %q", r.Code, r.Text, tc.want, tc.text)
			}
			if got := strings.Contains(p.received(), "MAIL FROM"); got != tc.mail {
				t.Errorf("MAIL sent: %v, want %v:\n%s", got, tc.mail, p.received())
			}
			if tc.want == "Z" && p.conns() > 1 {
				t.Errorf("%d connections: a failed policy must not be retried in plaintext", p.conns())
			}
		})
	}
	want := []string{"sts:certificate-host-mismatch", "sts:starttls-not-supported", "sts:validation-failure", "sts:certificate-host-mismatch"}
	if got := w.failures(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("reported failures %v, want %v", got, want)
	}
}

func TestDANE(t *testing.T) {
	ca := newTestCA(t, "private CA nobody trusts")
	self := ca.issue(t, true, "mx.dane.test")
	zone := mxZone("dane.test", "ta.test", "wrong.test", "down.test", "insecure.test", "nodane.test", "broken.test", "unusable.test") +
		"_25._tcp.mx.dane.test. 300 IN TLSA " + tlsaOf(true, self.Leaf, 3) + "\n" +
		"_25._tcp.mx.ta.test. 300 IN TLSA " + tlsaOf(false, ca.cert, 2) + "\n" +
		"_25._tcp.mx.wrong.test. 300 IN TLSA 3 1 1 " + strings.Repeat("ab", 32) + "\n" +
		"_25._tcp.mx.down.test. 300 IN TLSA " + tlsaOf(true, self.Leaf, 3) + "\n" +
		"_25._tcp.mx.insecure.test. 300 IN TLSA 3 1 1 " + strings.Repeat("ab", 32) + "\n" +
		"_25._tcp.mx.unusable.test. 300 IN TLSA 1 1 1 " + strings.Repeat("ab", 32) + "\n"
	w := newPolicyWorld(t, zone)
	w.dns.Secure("dane.test.", "_25._tcp.mx.dane.test.", "ta.test.", "_25._tcp.mx.ta.test.", "wrong.test.", "_25._tcp.mx.wrong.test.",
		"down.test.", "_25._tcp.mx.down.test.", "nodane.test.", "_25._tcp.mx.nodane.test.", "broken.test.", "unusable.test.", "_25._tcp.mx.unusable.test.")
	// insecure.test: the MX RRset did not validate, so its (wrong)
	// TLSA record is never used.
	w.dns.ServFail("_25._tcp.mx.broken.test.")
	withCert := func(c tls.Certificate) server { return server{tls: &tls.Config{Certificates: []tls.Certificate{c}}} }
	for _, tc := range []struct {
		name, domain string
		sv           server
		want, text   string
	}{
		{"DANE-EE match delivers", "dane.test", withCert(self), "K", "accepted"},
		{"DANE-TA match delivers", "ta.test", withCert(ca.issue(t, true, "mx.ta.test")), "K", "accepted"},
		{"DANE-TA for another name defers", "ta.test", withCert(ca.issue(t, true, "mx.elsewhere.test")), "Z", "DANE"},
		{"no matching record defers", "wrong.test", withCert(self), "Z", "DANE"},
		{"no STARTTLS defers", "down.test", server{}, "Z", "does not offer STARTTLS"},
		{"insecure MX: opportunistic", "insecure.test", withCert(self), "K", "accepted"},
		{"secure denial of TLSA: opportunistic", "nodane.test", server{}, "K", "accepted"},
		{"TLSA lookup failure defers", "broken.test", withCert(self), "Z", "TLSA records of mx.broken.test could not be looked up"},
		{"only unusable records: TLS without authentication", "unusable.test", withCert(self), "K", "accepted"},
		{"only unusable records, no STARTTLS: defers", "unusable.test", server{}, "Z", "does not offer STARTTLS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startPeer(t, "127.0.0.2", 0, tc.sv.serve)
			r := w.deliver(p, tc.domain)
			if string(r.Code) != tc.want || !strings.Contains(r.Text, tc.text) {
				t.Fatalf("got %c %q; want %s containing %q", r.Code, r.Text, tc.want, tc.text)
			}
			if tc.want == "Z" && strings.Contains(p.received(), "MAIL FROM") {
				t.Errorf("MAIL sent although DANE failed")
			}
			if tc.want == "K" && tc.domain == "dane.test" && !strings.Contains(r.TLS, "DANE-EE") {
				t.Errorf("TLS summary %q does not name DANE-EE", r.TLS)
			}
		})
	}
}
