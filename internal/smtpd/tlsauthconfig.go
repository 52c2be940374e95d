package smtpd

import (
	"path/filepath"

	"goqmail/internal/control"
	"goqmail/internal/tlsconf"
)

// loadTLSAuth fills the TLS and AUTH part of c (control/authplaintext,
// authsenders, servercert.pem). A certificate file that cannot be loaded
// is a warning, not a failure: port 25 then works without TLS and mail
// keeps flowing, while AUTH stays off wherever it would need TLS.
func loadTLSAuth(c *Config, s *control.Snapshot) []string {
	var warnings []string
	c.AuthPlaintext = s.Number(control.AuthPlaintext) == 1
	c.AuthSenders = s.Number(control.AuthSenders) == 1
	store, err := tlsconf.Load(filepath.Join(s.Dir, control.ServerCert.Name))
	switch {
	case err != nil:
		warnings = append(warnings, "no TLS: control/"+control.ServerCert.Name+": "+err.Error())
	case store != nil:
		c.TLS, c.tlsStore = store.Config(), store
	}
	return warnings
}
