// Package acmecert is goqmail-acme's logic: it keeps the server
// certificate (control/servercert.pem, a link to acme/servercert.pem)
// issued and renewed by an ACME server (RFC 8555) with HTTP-01
// challenges, and serves the HTTP side the certificate's names need: the
// challenges on port 80 and this host's MTA-STS policy over HTTPS
// (RFC 8461 3.3).
//
// Why golang.org/x/crypto/acme and not autocert or certmagic: both are
// built to sit inside the TLS server that uses the certificate
// (GetCertificate, issuing on the first handshake, their own storage
// layout). goqmail's certificate is a file that smtpd, pop3d and Dovecot
// read, written by a process of its own under its own account, and a
// renewal that fails must leave that file alone and say so. autocert's
// renewal runs in a timer that logs nowhere; certmagic brings zap, libdns
// and acmez into the build for DNS challenges we do not use. Both sit on
// an RFC 8555 client; x/crypto/acme is that client, from a module goqmail
// already uses, and the order flow over it is the short code below.
//
// SECURITY: runs as goqmaila (group goqmailnf, so smtpd and pop3d can
// read the file it writes). It holds the ACME account key and the
// certificate's private key, owns acme/, and faces the network with two
// small HTTP servers that answer two fixed paths. It never runs as root:
// the supervisor binds ports 80 and 443 and passes them in.
package acmecert

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/acme"

	"goqmail/internal/atomicfile"
	"goqmail/internal/logline"
	"goqmail/internal/timerslack"
)

// Config is what the control files say (a new one on SIGHUP).
type Config struct {
	Names     []string // acmedomains; empty: no ACME
	Directory string   // acmedirectory
	Email     string   // acmeemail
	RenewDays int      // acmerenewdays
	Hook      []string // acmehook, split at spaces; nil: none
}

// Manager obtains and renews the certificate.
type Manager struct {
	Dir        string       // ROOT/acme: account.key, servercert.pem
	HTTPClient *http.Client // to the ACME server; http.DefaultClient when nil
	Log        *logline.Logger
	Now        func() time.Time

	mu     sync.Mutex
	tokens map[string]string // HTTP-01 path -> key authorization
}

// CertPath is the certificate file the manager writes.
func (m *Manager) CertPath() string { return filepath.Join(m.Dir, "servercert.pem") }

func (m *Manager) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// Check renews the certificate if it is missing, does not cover the
// configured names, or expires within RenewDays, and reports whether it
// wrote a new one. On failure the old file is untouched and the error
// says what failed and until when the old certificate is valid.
func (m *Manager) Check(ctx context.Context, cfg Config) (bool, error) {
	if len(cfg.Names) == 0 {
		return false, nil
	}
	old, why := m.needsRenewal(cfg)
	if why == "" {
		return false, nil
	}
	m.Log.Printf("status: requesting a certificate for %s from %s: %s", strings.Join(cfg.Names, " "), cfg.Directory, why)
	pemData, err := m.obtain(ctx, cfg)
	if err != nil {
		keep := "there is no certificate yet"
		if old != nil {
			keep = fmt.Sprintf("keeping the current certificate, valid until %s", old.NotAfter.UTC().Format(time.RFC3339))
		}
		return false, fmt.Errorf("ACME: the certificate for %s could not be obtained from %s: %w; %s", strings.Join(cfg.Names, " "), cfg.Directory, err, keep)
	}
	// tlsconf and Dovecot read the file whole: a rename, never a rewrite
	// in place. StampNow: tlsconf notices a new file by mtime and size.
	if err := atomicfile.Write(m.CertPath(), pemData, atomicfile.Options{Perm: 0o640, Group: -1, StampNow: true}); err != nil {
		return false, fmt.Errorf("ACME: installing the new certificate: %w", err)
	}
	leaf, _ := readLeaf(m.CertPath())
	if leaf != nil {
		m.Log.Printf("status: new certificate for %s installed in %s, serial %x, valid until %s", strings.Join(cfg.Names, " "), m.CertPath(), leaf.SerialNumber, leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if len(cfg.Hook) > 0 {
		m.runHook(cfg.Hook)
	}
	return true, nil
}

// needsRenewal returns the current certificate and why it must be
// replaced ("" when it need not).
func (m *Manager) needsRenewal(cfg Config) (*x509.Certificate, string) {
	leaf, err := readLeaf(m.CertPath())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "no certificate yet"
	}
	if err != nil {
		return nil, fmt.Sprintf("the current one is unusable (%v)", err)
	}
	for _, n := range cfg.Names {
		if leaf.VerifyHostname(n) != nil {
			return leaf, fmt.Sprintf("the current one does not cover %s", n)
		}
	}
	left := leaf.NotAfter.Sub(m.now())
	if left < time.Duration(cfg.RenewDays)*24*time.Hour {
		return leaf, fmt.Sprintf("the current one expires in %d days (%s), less than acmerenewdays (%d)", int(left.Hours()/24), leaf.NotAfter.UTC().Format(time.RFC3339), cfg.RenewDays)
	}
	return leaf, ""
}

// readLeaf parses the first certificate of a key-and-chain PEM file; it
// must also hold the matching key, as tlsconf requires.
func readLeaf(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pair, err := tls.X509KeyPair(data, data)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(pair.Certificate[0])
}

// obtain runs one order (RFC 8555 7.4): account, order, an HTTP-01
// challenge per name, finalize with a fresh key, download the chain.
// It returns the new key and chain as one PEM file.
func (m *Manager) obtain(ctx context.Context, cfg Config) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	key, err := m.accountKey()
	if err != nil {
		return nil, err
	}
	cl := &acme.Client{Key: key, DirectoryURL: cfg.Directory, HTTPClient: m.HTTPClient, UserAgent: "goqmail-acme"}
	acct := &acme.Account{}
	if cfg.Email != "" {
		acct.Contact = []string{"mailto:" + cfg.Email}
	}
	if _, err := cl.Register(ctx, acct, acme.AcceptTOS); err != nil && !errors.Is(err, acme.ErrAccountAlreadyExists) {
		return nil, fmt.Errorf("account: %w", err)
	}
	order, err := cl.AuthorizeOrder(ctx, acme.DomainIDs(cfg.Names...))
	if err != nil {
		return nil, fmt.Errorf("new order: %w", err)
	}
	for _, u := range order.AuthzURLs {
		if err := m.authorize(ctx, cl, u); err != nil {
			return nil, err
		}
	}
	if order, err = cl.WaitOrder(ctx, order.URI); err != nil {
		return nil, fmt.Errorf("order: %w", err)
	}
	certKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: cfg.Names[0]}, DNSNames: cfg.Names}, certKey)
	if err != nil {
		return nil, err
	}
	chain, _, err := cl.CreateOrderCert(ctx, order.FinalizeURL, csr, true)
	if err != nil {
		return nil, fmt.Errorf("finalize: %w", err)
	}
	kder, err := x509.MarshalECPrivateKey(certKey)
	if err != nil {
		return nil, err
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	for _, der := range chain {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	// What tlsconf will load must load: key and chain together, the
	// names all there.
	pair, err := tls.X509KeyPair(out, out)
	if err != nil {
		return nil, fmt.Errorf("the issued certificate does not load: %w", err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, err
	}
	for _, n := range cfg.Names {
		if leaf.VerifyHostname(n) != nil {
			return nil, fmt.Errorf("the issued certificate does not cover %s", n)
		}
	}
	return out, nil
}

// authorize answers one authorization's HTTP-01 challenge (RFC 8555
// 8.3) and waits until the server has checked it.
func (m *Manager) authorize(ctx context.Context, cl *acme.Client, url string) error {
	z, err := cl.GetAuthorization(ctx, url)
	if err != nil {
		return fmt.Errorf("authorization: %w", err)
	}
	if z.Status == acme.StatusValid {
		return nil
	}
	i := slices.IndexFunc(z.Challenges, func(c *acme.Challenge) bool { return c.Type == "http-01" })
	if i < 0 {
		return fmt.Errorf("the ACME server offers no http-01 challenge for %s", z.Identifier.Value)
	}
	ch := z.Challenges[i]
	resp, err := cl.HTTP01ChallengeResponse(ch.Token)
	if err != nil {
		return err
	}
	path := cl.HTTP01ChallengePath(ch.Token)
	m.mu.Lock()
	if m.tokens == nil {
		m.tokens = map[string]string{}
	}
	m.tokens[path] = resp
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		delete(m.tokens, path)
		m.mu.Unlock()
	}()
	if _, err := cl.Accept(ctx, ch); err != nil {
		return fmt.Errorf("http-01 challenge for %s: %w", z.Identifier.Value, err)
	}
	if _, err := cl.WaitAuthorization(ctx, z.URI); err != nil {
		return fmt.Errorf("http-01 challenge for %s (is port 80 of %s reaching acmelisten?): %w", z.Identifier.Value, z.Identifier.Value, err)
	}
	return nil
}

// accountKey reads acme/account.key, or makes one (0600) the first time.
func (m *Manager) accountKey() (*ecdsa.PrivateKey, error) {
	path := filepath.Join(m.Dir, "account.key")
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return nil, err
		}
		if err := atomicfile.Write(path, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), atomicfile.Options{Perm: 0o600, Group: -1}); err != nil {
			return nil, fmt.Errorf("account key: %w", err)
		}
		return k, nil
	}
	if err != nil {
		return nil, fmt.Errorf("account key: %w", err)
	}
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "EC PRIVATE KEY" {
		return nil, fmt.Errorf("account key %s: no EC PRIVATE KEY block (remove the file to make a new account)", path)
	}
	k, err := x509.ParseECPrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("account key %s: %w", path, err)
	}
	return k, nil
}

// runHook runs acmehook after a new certificate is in place. A failure
// is logged: the certificate is installed either way.
func (m *Manager) runHook(argv []string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := timerslack.Run(cmd, timerslack.Default) // the administrator's program, not goqmail's tuning
	text := strings.TrimSpace(out.String())
	if len(text) > 500 {
		text = text[:500] + "..."
	}
	if err != nil {
		m.Log.Printf("warning: acmehook %q failed: %v: %s", strings.Join(argv, " "), err, text)
		return
	}
	m.Log.Printf("status: acmehook %q ran: %s", strings.Join(argv, " "), text)
}

// ChallengeHandler answers HTTP-01 challenges (port 80) and nothing
// else.
func (m *Manager) ChallengeHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		resp, ok := m.tokens[r.URL.Path]
		m.mu.Unlock()
		if !ok || r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte(resp))
	})
}
