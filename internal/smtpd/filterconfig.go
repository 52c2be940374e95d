package smtpd

import (
	"os"
	"path/filepath"
	"time"

	"goqmail/internal/control"
	"goqmail/internal/milterclient"
	"goqmail/internal/qmailqueue"
	"goqmail/internal/spp"
	"goqmail/internal/tcprules"
)

// filterConfig is the configuration of smtpd's filter hooks
// (docs/antispam.md, "Filter hooks"): a QMAILQUEUE program, milters and
// qmail-spp plugins, each read from control/ with every line checked, so
// that a hook that cannot work stops the start (or the reload) instead of
// letting mail through unfiltered.
type filterConfig struct {
	root          string
	qmailQueue    string        // control/qmailqueue; "" none
	qqTimeout     time.Duration // control/timeoutqmailqueue
	qqProgram     string        // goqmail's qmail-queue, for the filter's $GOQMAIL_QMAILQUEUE
	milters       []milterclient.Config
	plugins       *spp.Config            // control/smtpplugins
	pluginFiles   map[string]*spp.Config // SPPCONFFILE values of tcp.smtp
	pluginTimeout time.Duration
}

// loadFilters fills c.filters from the snapshot and the tcp.smtp rules
// already in c. root is the installation (relative plugin paths, the
// filters' working directory).
func loadFilters(c *Config, s *control.Snapshot, root string) ([]string, error) {
	f := &filterConfig{root: root, qmailQueue: s.Line(control.QmailQueue),
		qqTimeout:     time.Duration(s.Number(control.TimeoutQmailQueue)) * time.Second,
		pluginTimeout: time.Duration(s.Number(control.TimeoutPlugin)) * time.Second,
		pluginFiles:   map[string]*spp.Config{}}
	var probs control.Problems
	var warnings []string
	var p control.Problems
	f.milters, p = milterclient.Load(s)
	probs = append(probs, p...)
	f.plugins, p = spp.Load(s, root)
	probs = append(probs, p...)
	if c.Rules != nil {
		for _, r := range c.Rules.All() {
			probs = append(probs, f.ruleHooks(r)...)
		}
	}
	if f.qmailQueue != "" {
		if err := qmailqueue.CheckProgram(f.qmailQueue); err != nil {
			probs = append(probs, control.Problem{File: "control/qmailqueue", Line: 1, What: err.Error(),
				Fix: "install the filter program or empty control/qmailqueue"})
		}
	}
	f.qqProgram = qmailQueueProgram(root)
	if f.qqProgram == "" && (f.qmailQueue != "" || c.Rules != nil && rulesSet(c.Rules, "QMAILQUEUE")) {
		warnings = append(warnings, "a QMAILQUEUE filter is configured but goqmail's qmail-queue is in neither "+
			filepath.Join(root, "bin")+" nor beside goqmail-smtpd: the filter must find a qmail-queue by itself ($GOQMAIL_QMAILQUEUE is unset)")
	}
	if len(probs) > 0 {
		return nil, probs
	}
	c.filters = f
	return warnings, nil
}

// ruleHooks checks the hook variables of one tcp.smtp rule: QMAILQUEUE
// names an executable by its absolute path (or is empty: no filter for
// these clients), SPPCONFFILE a plugin file that loads.
func (f *filterConfig) ruleHooks(r tcprules.Rule) control.Problems {
	var probs control.Problems
	if v, ok := r.Lookup("QMAILQUEUE"); ok && v != "" {
		if err := qmailqueue.CheckProgram(v); err != nil {
			probs = append(probs, control.Problem{File: "control/tcp.smtp", Line: r.Line, What: "QMAILQUEUE: " + err.Error(),
				Fix: `write QMAILQUEUE="/absolute/path/of/the/filter", or QMAILQUEUE="" for no filter`})
		}
	}
	if v, ok := r.Lookup("SPPCONFFILE"); ok && v != "" {
		if _, done := f.pluginFiles[v]; !done {
			cfg, p := spp.LoadFile(v, f.root)
			probs = append(probs, p...)
			f.pluginFiles[v] = cfg
		}
	}
	return probs
}

// rulesSet reports whether any tcp.smtp rule sets name to a value.
func rulesSet(rs *tcprules.Rules, name string) bool {
	for _, r := range rs.All() {
		if v, ok := r.Lookup(name); ok && v != "" {
			return true
		}
	}
	return false
}

// qmailQueueProgram finds goqmail's qmail-queue: ROOT/bin/qmail-queue of
// an installation, else goqmail-qmail-queue beside this program (a
// development directory runs the programs of the build); "" when neither.
func qmailQueueProgram(root string) string {
	if p := filepath.Join(root, "bin", "qmail-queue"); qmailqueue.CheckProgram(p) == nil {
		return p
	}
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	if p := filepath.Join(filepath.Dir(exe), "goqmail-qmail-queue"); qmailqueue.CheckProgram(p) == nil {
		return p
	}
	return ""
}
