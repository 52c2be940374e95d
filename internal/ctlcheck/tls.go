package ctlcheck

import (
	"fmt"
	"net"
	"time"

	"goqmail/internal/control"
	"goqmail/internal/tlsconf"
)

const fixCert = "install a PEM file holding the private key and its certificate chain (`goqmail init` makes a self-signed one), or delete it for no TLS"

// certificate checks control/servercert.pem with the loader smtpd and
// pop3d use. A file that exists but cannot be used is a problem: the
// programs would otherwise run without TLS and take passwords in clear.
func (c *checker) certificate() {
	const file = "control/servercert.pem"
	path, ok := c.snap.Present(control.ServerCert)
	if !ok {
		return
	}
	store, err := tlsconf.Load(path)
	if err != nil {
		c.problem(control.Problem{File: file, What: "cannot be used: " + errText(err), Fix: fixCert})
		return
	}
	cert, _ := store.Certificate()
	if cert != nil && cert.Leaf != nil && time.Now().After(cert.Leaf.NotAfter) {
		c.warn(control.Problem{File: file, What: fmt.Sprintf("the certificate expired on %s: clients that verify it refuse it", cert.Leaf.NotAfter.UTC().Format(time.DateOnly)),
			Fix: "install a renewed certificate (no restart needed)"})
	}
}

// listeners checks what the listen files need of each other and of the
// certificate. Without servercert.pem, port 25 stays plain text (RFC 3207
// makes STARTTLS optional); listeners that cannot work without TLS are
// problems, and plain-text passwords are warnings.
func (c *checker) listeners() {
	_, haveCert := c.snap.Present(control.ServerCert)
	plaintext := c.snap.Number(control.AuthPlaintext) == 1
	has := func(st *control.Setting) bool { return len(c.snap.List(st)) > 0 }
	if !haveCert {
		for _, st := range []*control.Setting{control.SMTPSListen, control.POP3SListen, control.WebListen} {
			if has(st) {
				c.problem(control.Problem{File: "control/" + st.Name,
					What: "lists addresses, but control/servercert.pem does not exist and these ports speak TLS from the first byte",
					Fix:  "install control/servercert.pem, or empty control/" + st.Name})
			}
		}
		switch {
		case has(control.SubmissionListen) && !plaintext:
			c.problem(control.Problem{File: "control/submissionlisten",
				What: "lists addresses, but control/servercert.pem does not exist: submission needs AUTH before MAIL, and AUTH is offered only over TLS",
				Fix:  "install control/servercert.pem, or empty control/submissionlisten (control/authplaintext 1 would allow passwords in clear text)"})
		case has(control.SubmissionListen):
			c.warn(control.Problem{File: "control/submissionlisten", What: "no control/servercert.pem: submission passwords travel in clear text (authplaintext is 1)",
				Fix: "install control/servercert.pem"})
		}
		if has(control.POP3Listen) {
			c.warn(control.Problem{File: "control/pop3listen", What: "no control/servercert.pem: POP3 passwords travel in clear text (no STLS)",
				Fix: "install control/servercert.pem"})
		}
	}
	c.duplicateAddresses()
}

// duplicateAddresses finds a port bound twice (the same address, or one
// that a wildcard address on the same port already covers): the second
// bind fails when goqmaild starts.
func (c *checker) duplicateAddresses() {
	type bound struct {
		file, addr, host, port string
	}
	var seen []bound
	for _, st := range []*control.Setting{control.SMTPListen, control.SubmissionListen, control.SMTPSListen, control.POP3Listen, control.POP3SListen, control.WebListen} {
		for _, addr := range c.snap.List(st) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				continue // reported by control
			}
			b := bound{"control/" + st.Name, addr, host, port}
			for _, o := range seen {
				if o.port == b.port && (o.host == b.host || wildcard(o.host) || wildcard(b.host)) {
					c.problem(control.Problem{File: b.file, What: fmt.Sprintf("%q overlaps %q in %s: the port can be bound only once", b.addr, o.addr, o.file),
						Fix: "use another port, or list the address in one file only"})
					break
				}
			}
			seen = append(seen, b)
		}
	}
}

func wildcard(host string) bool { return host == "" || host == "0.0.0.0" || host == "::" }
