package main

import (
	"crypto/tls"
	"fmt"
	"path/filepath"
	"sync/atomic"

	"goqmail/internal/connlimit"
	"goqmail/internal/control"
	"goqmail/internal/logline"
	"goqmail/internal/pop3"
	"goqmail/internal/tlsconf"
)

// config is what pop3d reads from control/: me (the APOP timestamp's
// host), authplaintext, servercert.pem and the connection limits
// (concurrencypop3, concurrencyperip, connectrateperip).
type config struct {
	settings pop3.Settings
	certs    *tlsconf.Store // nil: no certificate, no STLS
}

// loadConfig reads control/ under root. A certificate file that exists but
// cannot be loaded is an error, not "no TLS": without TLS on offer POP3
// takes passwords in the clear. pop3s listeners need a certificate.
func loadConfig(root string, kinds []string, log *logline.Logger) (*config, error) {
	dir := filepath.Join(root, "control")
	snap, err := control.Load(dir)
	if err != nil {
		return nil, err
	}
	for _, w := range snap.Warnings {
		log.Printf("warning: %s", w)
	}
	certs, err := tlsconf.Load(filepath.Join(dir, control.ServerCert.Name))
	if err != nil {
		return nil, fmt.Errorf("control/%s: %w", control.ServerCert.Name, err)
	}
	if certs == nil {
		for _, k := range kinds {
			if k == "pop3s" {
				return nil, fmt.Errorf("a pop3s listener (control/pop3slisten) needs control/%s: install a certificate or empty pop3slisten", control.ServerCert.Name)
			}
		}
	} else {
		// A renewal that fails to load keeps the previous certificate.
		certs.Warn = func(err error) { log.Printf("warning: control/%s: %v", control.ServerCert.Name, err) }
	}
	return &config{
		settings: pop3.Settings{
			Hostname:           snap.Line(control.Me),
			AllowPlaintextAuth: snap.Number(control.AuthPlaintext) == 1,
			Limits: connlimit.Limits{
				Total:     int(snap.Number(control.ConcurrencyPOP3)),
				PerClient: int(snap.Number(control.ConcurrencyPerIP)),
				Rate:      int(snap.Number(control.ConnectRatePerIP)),
			},
		},
		certs: certs,
	}, nil
}

// certSource serves the current configuration's certificate to pop3.Server
// (its TLS hook), switched whole on SIGHUP.
type certSource struct{ cur atomic.Pointer[tlsconf.Store] }

func (c *certSource) Config() *tls.Config {
	if st := c.cur.Load(); st != nil {
		return st.Config()
	}
	return nil
}
