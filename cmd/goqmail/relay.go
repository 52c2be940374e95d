package main

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"goqmail/internal/relaygrant"
)

const relayUsage = `usage: goqmail relay COMMAND [ARGS] [-root ROOT]
  list                     live POP-before-SMTP grants: address, expiry, time left, who earned it
  revoke IP                end the grant of one address now
` + rootHelp

// relayCmd runs `goqmail relay ...`: the POP-before-SMTP grants in
// ROOT/relay/grants (internal/relaygrant), relay-ctrl's directory listing
// and rm in one command.
func relayCmd(c *call) {
	rest := c.args
	if len(rest) == 0 {
		usageFail(c.cmd, "which command?")
	}
	for _, a := range rest[1:] {
		if strings.HasPrefix(a, "-") {
			usageFail(c.cmd, "unknown option %s", a)
		}
	}
	dir := filepath.Join(c.root, "relay", "grants")
	// Opened once the command line is known to be good. A missing grants
	// directory is no grants; a missing installation is a wrong ROOT.
	open := func() *relaygrant.Store {
		if st, err := os.Stat(filepath.Join(c.root, "control")); err != nil || !st.IsDir() {
			fail("relay: %s is not a goqmail installation (it has no control/): give -root ROOT or set GOQMAIL_ROOT", c.root)
		}
		st := relaygrant.Open(dir)
		st.Reader = relaygrant.OwnerOf(dir) // a rewrite keeps smtpd's ownership
		return st
	}
	switch verb := rest[0]; verb {
	case "list":
		if len(rest) != 1 {
			usageFail(c.cmd, "list takes no arguments")
		}
		gs, err := open().List()
		if err != nil {
			fail("relay list: %s: %v", dir, err)
		}
		if len(gs) == 0 {
			fmt.Printf("no live grants (%s)\n", dir)
		}
		now := time.Now()
		for _, g := range gs {
			fmt.Printf("%s until %s (%s left) %s\n", g.IP, g.Expires.UTC().Format(time.RFC3339),
				g.Expires.Sub(now).Truncate(time.Second), g.Source)
		}
	case "revoke":
		if len(rest) != 2 {
			usageFail(c.cmd, "revoke takes one address")
		}
		ip, err := netip.ParseAddr(rest[1])
		if err != nil {
			usageFail(c.cmd, "%q is not an IP address", rest[1])
		}
		had, err := open().Revoke(ip)
		if err != nil {
			fail("relay revoke: %s: %v", dir, err)
		}
		if !had {
			fmt.Printf("%s had no live grant\n", relaygrant.Normalize(ip))
			os.Exit(1)
		}
		fmt.Printf("revoked %s\n", relaygrant.Normalize(ip))
	default:
		usageFail(c.cmd, "unknown command %q", verb)
	}
}
