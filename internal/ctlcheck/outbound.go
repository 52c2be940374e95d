package ctlcheck

import (
	"fmt"
	"path/filepath"

	"goqmail/internal/control"
	"goqmail/internal/dkimkey"
	"goqmail/internal/srs"
)

// dkimKeys checks that every key control/dkimkeys names can be read and
// parsed: goqmail-dkimsign would refuse to start without it (run as root,
// as goqmaild runs this check, it reads keys only goqmailk may read).
func (c *checker) dkimKeys() {
	for i, line := range c.snap.List(control.DKIMKeys) {
		for domain, sel := range dkimkey.Active([]string{line}) {
			if _, err := dkimkey.Load(dkimkey.Path(c.root, domain, sel)); err != nil {
				c.problem(control.Problem{File: "control/" + control.DKIMKeys.Name, Line: i + 1,
					What: fmt.Sprintf("the key of %s, selector %s, cannot be used: %v", domain, sel, err),
					Fix:  fmt.Sprintf("make it with goqmail dkim keygen %s --selector %s, or remove the line", domain, sel)})
			}
		}
	}
}

// srs checks the SRS settings when srsdomain is set: usable secrets, and
// a domain the SMTP server accepts bounces for.
func (c *checker) srs() {
	domain := c.snap.Line(control.SRSDomain)
	if domain == "" {
		return
	}
	if _, err := srs.ReadSecrets(filepath.Join(c.root, "control", control.SRSSecrets.Name)); err != nil {
		c.problem(control.Problem{File: "control/" + control.SRSSecrets.Name, What: err.Error(),
			Fix: "run goqmail srs rotate, or empty control/srsdomain to turn SRS off"})
	}
	if !control.NewDomainSet(c.snap.List(control.RcptHosts)).Match(domain) {
		c.problem(control.Problem{File: "control/" + control.SRSDomain.Name, Line: 1,
			What: fmt.Sprintf("%s is not in rcpthosts: bounces to SRS addresses would be refused", domain),
			Fix:  "add it to control/rcpthosts, or name a domain that is there"})
	}
}
