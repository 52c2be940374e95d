package remote

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"goqmail/internal/logline"
	"goqmail/internal/route"
)

// A fake SMTP peer written for these tests: it records every byte the
// client sends, and its behaviour is a Go function, so hostile peers are
// easy to write.

type peer struct {
	t    *testing.T
	ln   net.Listener
	addr netip.AddrPort
	h    func(*session)

	mu       sync.Mutex
	sessions []*session
	msgs     []recvd
	active   int
	maxConc  int
	wg       sync.WaitGroup
}

// recvd is one message a well-behaved peer accepted.
type recvd struct {
	mail  string
	rcpts []string
	data  string // wire form between "354" and ".\r\n", stuffing kept
	tls   bool
}

type session struct {
	n    int // 0 for the peer's first connection, 1 for the second...
	p    *peer
	nc   net.Conn
	br   *bufio.Reader
	raw  *bytes.Buffer // every byte received, before TLS and after (decrypted)
	mu   *sync.Mutex
	tls  bool
	helo string
}

type recorder struct {
	r   io.Reader
	buf *bytes.Buffer
	mu  *sync.Mutex
}

func (r recorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.mu.Lock()
	r.buf.Write(p[:n])
	r.mu.Unlock()
	return n, err
}

// startPeer listens on ip:port (port 0: any) and runs h for each
// connection.
func startPeer(t *testing.T, ip string, port uint16, h func(*session)) *peer {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, fmt.Sprint(port)))
	if err != nil {
		t.Fatalf("listen %s:%d: %v", ip, port, err)
	}
	p := &peer{t: t, ln: ln, addr: netip.MustParseAddrPort(ln.Addr().String()), h: h}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, s := range p.sessions {
			s.nc.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

// startPeers starts one peer per address, all on the same port.
func startPeers(t *testing.T, ips []string, hs ...func(*session)) []*peer {
	t.Helper()
	for try := 0; ; try++ {
		first := startPeer(t, ips[0], 0, hs[0])
		peers := []*peer{first}
		ok := true
		for i := 1; i < len(ips); i++ {
			ln, err := net.Listen("tcp", net.JoinHostPort(ips[i], fmt.Sprint(first.addr.Port())))
			if err != nil {
				ok = false
				break
			}
			ln.Close()
			peers = append(peers, startPeer(t, ips[i], first.addr.Port(), hs[i]))
		}
		if ok {
			return peers
		}
		if try > 10 {
			t.Fatal("no common free port")
		}
	}
}

func (p *peer) accept() {
	defer p.wg.Done()
	for {
		nc, err := p.ln.Accept()
		if err != nil {
			return
		}
		mu := &sync.Mutex{}
		raw := &bytes.Buffer{}
		s := &session{p: p, nc: nc, raw: raw, mu: mu, br: bufio.NewReader(recorder{nc, raw, mu})}
		p.mu.Lock()
		s.n = len(p.sessions)
		p.sessions = append(p.sessions, s)
		p.active++
		p.maxConc = max(p.maxConc, p.active)
		p.mu.Unlock()
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer func() {
				p.mu.Lock()
				p.active--
				p.mu.Unlock()
				nc.Close()
			}()
			nc.SetDeadline(time.Now().Add(20 * time.Second))
			p.h(s)
		}()
	}
}

// settle waits until no session is running, so everything the client sent
// has been read.
func (p *peer) settle() {
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		n := p.active
		p.mu.Unlock()
		if n == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.t.Error("peer sessions still running")
}

func (p *peer) conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.sessions)
}

func (p *peer) messages() []recvd {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]recvd(nil), p.msgs...)
}

// received returns all bytes the client sent on every connection.
func (p *peer) received() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	for _, s := range p.sessions {
		s.mu.Lock()
		b.Write(s.raw.Bytes())
		s.mu.Unlock()
	}
	return b.String()
}

func (s *session) send(lines ...string) {
	for _, l := range lines {
		io.WriteString(s.nc, l+"\r\n")
	}
}

func (s *session) line() (string, error) {
	l, err := s.br.ReadString('\n')
	return strings.TrimRight(l, "\r\n"), err
}

// data reads the wire form up to and without the final ".\r\n".
func (s *session) data() (string, error) {
	var b strings.Builder
	for {
		l, err := s.br.ReadString('\n')
		if err != nil {
			return b.String(), err
		}
		if l == ".\r\n" {
			return b.String(), nil
		}
		b.WriteString(l)
	}
}

// startTLS runs the server side of a handshake and switches to it.
func (s *session) startTLS(cfg *tls.Config) error {
	tc := tls.Server(s.nc, cfg)
	if err := tc.Handshake(); err != nil {
		return err
	}
	s.nc = tc
	s.br = bufio.NewReader(recorder{tc, s.raw, s.mu})
	s.tls = true
	return nil
}

// server is a well-behaved peer with adjustable answers.
type server struct {
	greeting string   // "220 fake.test ESMTP" when ""
	ext      []string // EHLO keywords; nil: PIPELINING, 8BITMIME, SIZE 1000000
	noEHLO   bool     // 502 to EHLO: the client must fall back to HELO
	tls      *tls.Config
	auth     func(user, pass string) bool
	mail     func(arg string) string
	rcpt     func(arg string) string
	data     string // reply to DATA, "354 go" when ""
	final    string // reply after the dot, "250 2.0.0 ok" when ""
}

func (sv server) serve(s *session) {
	greet := sv.greeting
	if greet == "" {
		greet = "220 fake.test ESMTP"
	}
	s.send(greet)
	var cur *recvd
	authed := false
	for {
		l, err := s.line()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(l, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			if sv.noEHLO {
				s.send("502 5.5.1 no EHLO here")
				continue
			}
			s.helo = arg
			ext := sv.ext
			if ext == nil {
				ext = []string{"PIPELINING", "8BITMIME", "SIZE 1000000"}
			}
			if sv.tls != nil && !s.tls {
				ext = append(ext, "STARTTLS")
			}
			if sv.auth != nil && s.tls {
				ext = append(ext, "AUTH PLAIN")
			}
			lines := []string{"fake.test hello " + arg}
			lines = append(lines, ext...)
			for i, x := range lines {
				sep := "-"
				if i == len(lines)-1 {
					sep = " "
				}
				s.send("250" + sep + x)
			}
		case "HELO":
			s.helo = arg
			s.send("250 fake.test")
		case "STARTTLS":
			s.send("220 2.0.0 ready")
			if err := s.startTLS(sv.tls); err != nil {
				return
			}
		case "AUTH":
			mech, resp, _ := strings.Cut(arg, " ")
			dec, _ := base64.StdEncoding.DecodeString(resp)
			parts := strings.Split(string(dec), "\x00")
			if strings.EqualFold(mech, "PLAIN") && len(parts) == 3 && sv.auth != nil && sv.auth(parts[1], parts[2]) {
				authed = true
				s.send("235 2.7.0 ok")
			} else {
				s.send("535 5.7.8 bad credentials")
			}
		case "MAIL":
			if sv.auth != nil && !authed {
				s.send("530 5.7.0 authentication required")
				continue
			}
			reply := "250 2.1.0 ok"
			if sv.mail != nil {
				reply = sv.mail(arg)
			}
			if reply[0] == '2' {
				cur = &recvd{mail: arg, tls: s.tls}
			}
			s.send(reply)
		case "RCPT":
			reply := "250 2.1.5 ok"
			if sv.rcpt != nil {
				reply = sv.rcpt(arg)
			}
			if cur != nil && reply[0] == '2' {
				cur.rcpts = append(cur.rcpts, arg)
			}
			s.send(reply)
		case "DATA":
			if cur == nil || len(cur.rcpts) == 0 {
				s.send("554 5.5.1 no valid recipients")
				continue
			}
			d := sv.data
			if d == "" {
				d = "354 go"
			}
			s.send(d)
			if d[0] != '3' {
				continue
			}
			body, err := s.data()
			if err != nil {
				return
			}
			cur.data = body
			final := sv.final
			if final == "" {
				final = "250 2.0.0 ok"
			}
			if final[0] == '2' {
				s.p.mu.Lock()
				s.p.msgs = append(s.p.msgs, *cur)
				s.p.mu.Unlock()
			}
			cur = nil
			s.send(final)
		case "RSET":
			cur = nil
			s.send("250 2.0.0 ok")
		case "NOOP":
			s.send("250 2.0.0 ok")
		case "QUIT":
			s.send("221 2.0.0 bye")
			return
		default:
			s.send("502 5.5.2 unknown command")
		}
	}
}

// staticDNS resolves from maps: MX records per domain, addresses per host.
type staticDNS struct {
	mx map[string][]route.MX
	ip map[string][]netip.Addr
}

func (d staticDNS) LookupMX(_ context.Context, name string) ([]route.MX, error) {
	if mx, ok := d.mx[name]; ok {
		return mx, nil
	}
	return nil, fmt.Errorf("MX %s: %w", name, route.ErrNotFound)
}

func (d staticDNS) LookupIP(_ context.Context, name string) ([]netip.Addr, error) {
	if ips, ok := d.ip[name]; ok {
		return ips, nil
	}
	return nil, fmt.Errorf("IP %s: %w", name, route.ErrNotFound)
}

// mxDNS gives domain one MX host per peer, preferences 10, 20, ..., host
// names mx1.DOMAIN, mx2.DOMAIN, ...
func mxDNS(domain string, peers ...*peer) staticDNS {
	d := staticDNS{mx: map[string][]route.MX{}, ip: map[string][]netip.Addr{}}
	for i, p := range peers {
		h := fmt.Sprintf("mx%d.%s", i+1, domain)
		d.mx[domain] = append(d.mx[domain], route.MX{Host: h, Pref: uint16(10 * (i + 1))})
		d.ip[h] = []netip.Addr{p.addr.Addr()}
	}
	return d
}

type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// newClient returns a client with test timeouts, talking to port.
func newClient(t *testing.T, res route.Resolver, port uint16) *Client {
	c := &Client{
		Resolver: res, Port: port, HeloHost: "client.test",
		ConnectTimeout: 2 * time.Second, ReplyTimeout: 2 * time.Second,
		IdleTimeout: -1, Log: logline.NewTo(testLog{t}, "remote"),
	}
	t.Cleanup(c.Close)
	return c
}

func job(domain, content string, rcpts ...string) Job {
	for i, r := range rcpts {
		if !strings.Contains(r, "@") {
			rcpts[i] = r + "@" + domain
		}
	}
	return Job{Sender: "sender@origin.test", Rcpts: rcpts, Domain: domain, Size: int64(len(content)), Content: strings.NewReader(content)}
}

// testPKI is a CA and a server certificate for the names and addresses
// the TLS tests use.
type testPKI struct {
	roots  *x509.CertPool
	server *tls.Config
}

var (
	pkiOnce sync.Once
	pki     testPKI
)

func getPKI(t *testing.T) testPKI {
	pkiOnce.Do(func() {
		caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		ca := &x509.Certificate{
			SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "goqmail test CA"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
		}
		caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
		if err != nil {
			panic(err)
		}
		caCert, _ := x509.ParseCertificate(caDER)
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		leaf := &x509.Certificate{
			SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "mx1.tls.test"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			DNSNames: []string{"mx1.tls.test", "relay.test"}, KeyUsage: x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
		der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
		if err != nil {
			panic(err)
		}
		pki.roots = x509.NewCertPool()
		pki.roots.AddCert(caCert)
		pki.server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	})
	return pki
}

func mustAddrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
