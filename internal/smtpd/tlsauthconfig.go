package smtpd

import (
	"fmt"
	"path/filepath"

	"goqmail/internal/control"
	"goqmail/internal/tlsconf"
)

// loadTLSAuth fills the TLS and AUTH part of c (control/authplaintext,
// authsenders, servercert.pem). No certificate file means no TLS: port 25
// then works in plain text, as RFC 3207 allows, and AUTH stays off wherever
// it would need TLS. A certificate file that exists but cannot be loaded is
// an error, never silently no TLS: clients that count on STARTTLS would
// otherwise send in the clear (docs/control.md, where goqmail fails open).
func loadTLSAuth(c *Config, s *control.Snapshot) error {
	c.AuthPlaintext = s.Number(control.AuthPlaintext) == 1
	c.AuthSenders = s.Number(control.AuthSenders) == 1
	store, err := tlsconf.Load(filepath.Join(s.Dir, control.ServerCert.Name))
	if err != nil {
		return fmt.Errorf("control/%s: %w", control.ServerCert.Name, err)
	}
	if store != nil {
		c.TLS, c.tlsStore = store.Config(), store
	}
	return nil
}

// CheckListeners says whether cfg can serve the listener kinds this
// process holds: implicit TLS (smtps) needs a certificate, and so does
// submission unless authplaintext lets AUTH run without TLS (there, mail
// is only accepted after AUTH). smtpd refuses to start, or keeps its old
// configuration on SIGHUP, rather than take connections it can only close.
func CheckListeners(cfg *Config, kinds []Kind) error {
	for _, k := range kinds {
		switch {
		case cfg.TLS != nil:
		case k == KindSMTPS:
			return fmt.Errorf("an smtps listener (control/smtpslisten) needs control/%s: install a certificate or empty smtpslisten", control.ServerCert.Name)
		case k == KindSubmission && !cfg.AuthPlaintext:
			return fmt.Errorf("a submission listener (control/submissionlisten) needs control/%s, since AUTH is offered only over TLS: install a certificate, or write 1 into control/authplaintext", control.ServerCert.Name)
		}
	}
	return nil
}
