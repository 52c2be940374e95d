package smtpd

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
	"goqmail/internal/control"
	"goqmail/internal/policy"
)

// Checks is the configuration of the checks made before a recipient is
// accepted (checks.go; docs/antispam.md).
type Checks struct {
	DNSServers []string      // control/dnsservers; GOQMAIL_DNS replaces it (cmd/goqmail-smtpd)
	DNSTimeout time.Duration // control/dnstimeout
	DNSBL      []control.ZoneLine
	DNSWL      []control.ZoneLine
	Client     policy.ClientConfig
	// BadMailFrom and BadRcptTo are qmail's lists; nil or empty: none.
	BadMailFrom, BadRcptTo *control.AddrSet
	// Rate limits per RateWindow; 0: none.
	RateWindow                                   time.Duration
	MsgPerIP, RcptPerIP, MsgPerUser, RcptPerUser int
	// Grey.Delay 0: no greylisting.
	Grey      policy.GreyConfig
	GreyAllow []netip.Prefix
	// GreyDir holds the greylisting state (ROOT/greylist).
	GreyDir string
}

// clientChecks reports whether any client check is configured.
func (c *Checks) clientChecks() bool {
	return len(c.DNSBL) > 0 || c.Client.RequireRDNS > 0 || (c.Client.BadHelo != nil && c.Client.BadHelo.Len() > 0)
}

// loadChecks reads the checks' control files into c. The values were
// checked by control.Load.
func loadChecks(c *Config, s *control.Snapshot, root string) error {
	k := &c.Checks
	k.DNSServers = s.List(control.DNSServers)
	k.DNSTimeout = time.Duration(s.Number(control.DNSTimeout)) * time.Second
	for _, l := range s.List(control.DNSBL) {
		z, err := control.ParseZoneLine(l, false)
		if err != nil {
			return fmt.Errorf("control/dnsbl: %w", err)
		}
		k.DNSBL = append(k.DNSBL, z)
	}
	for _, l := range s.List(control.DNSWL) {
		z, err := control.ParseZoneLine(l, true)
		if err != nil {
			return fmt.Errorf("control/dnswl: %w", err)
		}
		k.DNSWL = append(k.DNSWL, z)
	}
	k.Client = policy.ClientConfig{
		BadHelo:     control.NewDomainSet(s.List(control.BadHelo)),
		RequireRDNS: int(s.Number(control.RequireRDNS)),
		Threshold:   int(s.Number(control.DNSBLThreshold)),
	}
	k.BadMailFrom = control.NewAddrSet(s.List(control.BadMailFrom))
	k.BadRcptTo = control.NewAddrSet(s.List(control.BadRcptTo))
	k.RateWindow = time.Duration(s.Number(control.RateWindow)) * time.Second
	k.MsgPerIP = int(s.Number(control.MsgRatePerIP))
	k.RcptPerIP = int(s.Number(control.RcptRatePerIP))
	k.MsgPerUser = int(s.Number(control.MsgRatePerUser))
	k.RcptPerUser = int(s.Number(control.RcptRatePerUser))
	k.Grey = policy.GreyConfig{Delay: time.Duration(s.Number(control.GreylistDelay)) * time.Second,
		Retry: policy.GreyRetry, Lifetime: policy.GreyLifetime}
	k.GreyAllow = control.ParsePrefixes(s.List(control.GreylistAllow))
	k.GreyDir = filepath.Join(root, "greylist")
	return nil
}

// GreyStateFile is the greylisting state in ROOT/greylist.
const GreyStateFile = "state"

// CheckGreylistDir fails closed: greylisting that could not keep its
// state would greylist every retry again after a restart. goqmail-smtpd
// checks it with the rest of its configuration (not LoadConfig, which
// sendmail -bs runs as any user).
func CheckGreylistDir(c *Config) error {
	if c.Checks.Grey.Delay <= 0 {
		return nil
	}
	dir := c.Checks.GreyDir
	fix := fmt.Sprintf("run `goqmail install` (or mkdir %s and give it to the account smtpd runs as, mode 700), or write 0 into control/greylistdelay", dir)
	if err := unix.Access(dir, unix.W_OK|unix.X_OK); err != nil {
		return control.Problems{{File: "control/greylistdelay", What: fmt.Sprintf("greylisting keeps its state in %s, which smtpd cannot write: %v", dir, err), Fix: fix}}
	}
	f, err := os.Open(filepath.Join(dir, GreyStateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return control.Problems{{File: "control/greylistdelay", What: fmt.Sprintf("the greylisting state cannot be read: %v", err), Fix: "make it readable by smtpd's account, or move it away (greylisting starts over)"}}
	}
	defer f.Close()
	return nil
}
