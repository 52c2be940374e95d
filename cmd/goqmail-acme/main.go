// Command goqmail-acme keeps the server certificate issued and renewed by
// an ACME server (RFC 8555, HTTP-01) and serves this host's MTA-STS
// policy over HTTPS (RFC 8461). The supervisor starts it as goqmaila
// (group goqmailnf) when control/acmelisten or mtastslisten lists an
// address, with those listeners on fds 3 and up (GOQMAIL_FD_KINDS:
// acmehttp, mtasts). It writes ROOT/acme/servercert.pem, which
// control/servercert.pem links to; smtpd and pop3d notice a new file by
// themselves. SIGHUP rereads control/ and checks the certificate at once.
// See internal/acmecert and docs/outbound.md.
//
// GOQMAIL_TLS_ROOTS (a PEM file of CA certificates trusted for the ACME
// server instead of the system's) and GOQMAIL_ACME_CHECK (how often the
// certificate is looked at, a Go duration, instead of 12 hours, and 1
// hour after a failure) exist for test networks.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"goqmail/internal/acmecert"
	"goqmail/internal/control"
	"goqmail/internal/ipc"
	"goqmail/internal/logline"
	"goqmail/internal/mtasts"
	"goqmail/internal/tlsconf"
)

func main() {
	log := logline.New("acme")
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	root := logline.RootArg("goqmail-acme")
	if os.Geteuid() == 0 {
		log.Fatalf("refusing to run as root: goqmail-acme talks to the network")
	}
	checkEvery, retryEvery := 12*time.Hour, time.Hour
	if v := os.Getenv("GOQMAIL_ACME_CHECK"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			log.Fatalf("GOQMAIL_ACME_CHECK=%q is not a duration", v)
		}
		checkEvery, retryEvery = d, d
	}
	hc := http.DefaultClient
	if path := os.Getenv("GOQMAIL_TLS_ROOTS"); path != "" {
		pem, err := os.ReadFile(path)
		pool := x509.NewCertPool()
		if err != nil || !pool.AppendCertsFromPEM(pem) {
			log.Fatalf("GOQMAIL_TLS_ROOTS: %s holds no PEM certificate (%v)", path, err)
		}
		hc = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: time.Minute}
	}
	ctlDir := filepath.Join(root, "control")
	m := &acmecert.Manager{Dir: filepath.Join(root, "acme"), HTTPClient: hc, Log: log}
	policy := &acmecert.PolicyHandler{}
	var cfg atomic.Pointer[acmecert.Config]
	load := func() error {
		snap, err := control.Load(ctlDir)
		if err != nil {
			return err
		}
		for _, w := range snap.Warnings {
			log.Printf("warning: %s", w)
		}
		c := &acmecert.Config{Names: snap.List(control.ACMEDomains), Directory: snap.Line(control.ACMEDirectory),
			Email: snap.Line(control.ACMEEmail), RenewDays: int(snap.Number(control.ACMERenewDays))}
		if h := snap.Line(control.ACMEHook); h != "" {
			c.Hook = strings.Fields(h)
		}
		cfg.Store(c)
		policy.Set(&mtasts.Policy{Mode: mtasts.Mode(snap.Line(control.MTASTSMode)), MX: snap.List(control.MTASTSMX), MaxAge: snap.Number(control.MTASTSMaxAge)})
		return nil
	}
	if err := load(); err != nil {
		log.ConfigFatalf(control.ErrorLines(err)...)
	}
	warnLink(log, ctlDir, m.CertPath())

	kinds := strings.Split(os.Getenv("GOQMAIL_FD_KINDS"), ",")
	if n := ipc.EnvUID("GOQMAIL_FDS"); n != len(kinds) || n < 1 {
		log.Fatalf("expected the acmelisten and mtastslisten listeners (GOQMAIL_FDS=%s GOQMAIL_FD_KINDS=%s)", os.Getenv("GOQMAIL_FDS"), os.Getenv("GOQMAIL_FD_KINDS"))
	}
	for i, kind := range kinds {
		ln, err := ipc.InheritedListener(3+i, kind)
		if err != nil {
			log.Fatalf("%v", err)
		}
		switch kind {
		case "acmehttp":
			log.Printf("status: answering ACME HTTP-01 challenges on %s", ln.Addr())
			go serve(log, ln, m.ChallengeHandler())
		case "mtasts":
			log.Printf("status: serving the MTA-STS policy over HTTPS on %s", ln.Addr())
			certs := &lazyCert{path: filepath.Join(ctlDir, control.ServerCert.Name), log: log}
			go serve(log, tls.NewListener(ln, &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.get}), policy)
		default:
			log.Fatalf("descriptor %d is a %q listener, expected acmehttp or mtasts", 3+i, kind)
		}
	}

	wake := make(chan struct{}, 1)
	go func() {
		for sig := range sigs {
			if sig != syscall.SIGHUP {
				os.Exit(0)
			}
			if err := load(); err != nil {
				log.ReloadFailed(control.ErrorLines(err))
				continue
			}
			log.Printf("status: configuration reloaded")
			select {
			case wake <- struct{}{}:
			default:
			}
		}
	}()
	for {
		next := checkEvery
		_, before := os.Stat(m.CertPath())
		wrote, err := m.Check(context.Background(), *cfg.Load())
		switch {
		case err != nil:
			log.Printf("alert: %v; next try in %s", err, retryEvery)
			next = retryEvery
		case wrote && errors.Is(before, os.ErrNotExist):
			log.Printf("status: this is the first certificate: send goqmaild a SIGHUP (kill -HUP $(cat %s)) so smtpd and pop3d start offering TLS; renewals need nothing", filepath.Join(root, "run", "goqmaild.pid"))
		}
		select {
		case <-time.After(next):
		case <-wake:
		}
	}
}

// warnLink says so when control/servercert.pem is not the file goqmail-acme
// writes: the programs would go on using another certificate.
func warnLink(log *logline.Logger, ctlDir, certPath string) {
	link := filepath.Join(ctlDir, control.ServerCert.Name)
	target, err := os.Readlink(link)
	if err == nil && !filepath.IsAbs(target) {
		target = filepath.Join(ctlDir, target)
	}
	if err != nil || filepath.Clean(target) != filepath.Clean(certPath) {
		log.Printf("warning: %s is not a link to %s, so smtpd and pop3d will not use the ACME certificate: ln -sf ../acme/servercert.pem %s", link, certPath, link)
	}
}

// lazyCert serves servercert.pem to the MTA-STS listener, also when the
// file appears only after goqmail-acme started (the first certificate).
type lazyCert struct {
	path  string
	log   *logline.Logger
	store atomic.Pointer[tlsconf.Store]
}

func (l *lazyCert) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	st := l.store.Load()
	if st == nil {
		s, err := tlsconf.Load(l.path)
		if err != nil || s == nil {
			return nil, fmt.Errorf("no certificate in %s yet (%v)", l.path, err)
		}
		s.Warn = func(err error) { l.log.Printf("warning: %v", err) }
		l.store.Store(s)
		st = s
	}
	return st.Certificate()
}

// serve runs one HTTP server with timeouts, so a slow client holds
// nothing for long.
func serve(log *logline.Logger, ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute, MaxHeaderBytes: 8 << 10,
		// Failed handshakes of scanners are noise, not goqmail's log.
		ErrorLog: stdlog.New(io.Discard, "", 0)}
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("HTTP on %s: %v", ln.Addr(), err)
	}
}
