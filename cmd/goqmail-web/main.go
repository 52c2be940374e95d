package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
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

	"goqmail/internal/control"
	"goqmail/internal/helptext"
	"goqmail/internal/ipc"
	"goqmail/internal/logline"
	"goqmail/internal/tlsconf"
	"goqmail/internal/web"
)

func main() {
	for _, a := range os.Args[1:] {
		if a == "-h" || a == "-help" || a == "--help" {
			fmt.Print(helptext.Web)
			os.Exit(0)
		}
	}
	log := logline.New("web")
	root := logline.RootArg("goqmail-web")
	if os.Geteuid() == 0 {
		log.Fatalf("refusing to run as root: goqmail-web talks to the network (goqmaild starts it as goqmailw)")
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)

	kinds := strings.Split(os.Getenv("GOQMAIL_FD_KINDS"), ",")
	n := ipc.EnvUID("GOQMAIL_FDS")
	if n <= 0 {
		log.Fatalf("no listening sockets passed (GOQMAIL_FDS)")
	}
	for i := 0; i < n; i++ {
		if i < len(kinds) && kinds[i] != "" && kinds[i] != "https" {
			log.Fatalf("fd %d: unknown listener kind %q (want https)", 3+i, kinds[i])
		}
	}
	var certs atomic.Pointer[tlsconf.Store]
	st, err := loadCert(root, log)
	if err != nil {
		log.ConfigFatalf(err.Error())
	}
	certs.Store(st)

	srv := web.New(newAuthenticator(root), log, web.Limits{}, nil)
	ctx, stop := context.WithCancel(context.Background())
	go srv.Sweep(ctx)
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 20 * time.Second,
		ReadTimeout:       5 * time.Minute, // a compose form with its files over a slow line
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          stdlog.New(logWriter{log}, "", 0),
		TLSConfig: &tls.Config{
			MinVersion: tls.VersionTLS12,
			GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
				return certs.Load().Certificate()
			},
		},
	}
	for i := 0; i < n; i++ {
		ln, err := ipc.InheritedListener(3+i, "https")
		if err != nil {
			log.Fatalf("%v", err)
		}
		log.Printf("status: serving https on %s", ln.Addr())
		go func(ln net.Listener) {
			if err := hs.ServeTLS(srv.Limit(ln), "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Fatalf("https on %s: %v", ln.Addr(), err)
			}
		}(ln)
	}
	for sig := range sigs {
		if sig == syscall.SIGHUP {
			st, err := loadCert(root, log)
			if err != nil {
				log.ReloadFailed([]string{err.Error()})
				continue
			}
			certs.Store(st)
			log.Printf("status: certificate %s", st.Path())
			continue
		}
		break
	}
	hs.Close()
	stop()
	srv.Close()
}

// loadCert finds the certificate: goqmail-acme's when it exists (it also
// links control/servercert.pem to it, but a site may have kept its own
// file there), else control/servercert.pem. A file that exists but cannot
// be loaded, or no file at all, is an error: the front takes passwords
// and serves nothing without TLS.
func loadCert(root string, log *logline.Logger) (*tlsconf.Store, error) {
	paths := []string{filepath.Join(root, "acme", "servercert.pem"), filepath.Join(root, "control", control.ServerCert.Name)}
	for _, p := range paths {
		st, err := tlsconf.Load(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w (install a valid key and certificate chain in one PEM file)", p, err)
		}
		if st != nil {
			st.Warn = func(err error) { log.Printf("warning: %s: %v", p, err) }
			return st, nil
		}
	}
	return nil, fmt.Errorf("goqmail-web needs a TLS certificate: none at %s or %s (run goqmail-acme, or install control/%s)", paths[0], paths[1], control.ServerCert.Name)
}

// logWriter sends net/http's own complaints (TLS handshake errors, bad
// requests) to our log.
type logWriter struct{ log *logline.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	w.log.Printf("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
