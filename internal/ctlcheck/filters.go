package ctlcheck

import (
	"goqmail/internal/control"
	"goqmail/internal/milterclient"
	"goqmail/internal/qmailqueue"
	"goqmail/internal/spp"
	"goqmail/internal/tcprules"
)

// filters checks smtpd's filter hooks with smtpd's own parsers
// (docs/antispam.md): control/milters, control/smtpplugins, the
// qmailqueue program, and the hook variables of tcp.smtp (QMAILQUEUE,
// SPPCONFFILE). smtpd refuses the same problems at start and reload.
func (c *checker) filters() {
	_, probs := milterclient.Load(c.snap)
	_, more := spp.Load(c.snap, c.root)
	probs = append(probs, more...)
	if prog := c.snap.Line(control.QmailQueue); prog != "" {
		if err := qmailqueue.CheckProgram(prog); err != nil {
			probs = append(probs, control.Problem{File: "control/qmailqueue", Line: 1, What: err.Error(),
				Fix: "install the filter program or empty control/qmailqueue"})
		}
	}
	if path, ok := c.snap.Present(control.TCPRules); ok {
		if rules, _, err := tcprules.ParseFile(path); err == nil {
			seen := map[string]bool{}
			for _, r := range rules.All() {
				if v, ok := r.Lookup("QMAILQUEUE"); ok && v != "" {
					if err := qmailqueue.CheckProgram(v); err != nil {
						probs = append(probs, control.Problem{File: "control/tcp.smtp", Line: r.Line, What: "QMAILQUEUE: " + err.Error(),
							Fix: `write QMAILQUEUE="/absolute/path/of/the/filter", or QMAILQUEUE="" for no filter`})
					}
				}
				if v, ok := r.Lookup("SPPCONFFILE"); ok && v != "" && !seen[v] {
					seen[v] = true
					_, more := spp.LoadFile(v, c.root)
					probs = append(probs, more...)
				}
			}
		}
	}
	for _, p := range probs {
		c.problem(p)
	}
}
