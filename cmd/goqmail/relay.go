package main

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"goqmail/internal/relaygrant"
)

const relayUsage = `usage: goqmail relay COMMAND [ARGS] [-root ROOT]
  list                     live POP-before-SMTP grants: address, expiry, time left, who earned it
  revoke IP                end the grant of one address now
ROOT defaults to $GOQMAIL_ROOT, else /var/goqmail.
`

// relayCmd runs `goqmail relay ...`: the POP-before-SMTP grants in
// ROOT/relay/grants (internal/relaygrant), relay-ctrl's directory listing
// and rm in one command.
func relayCmd(args []string) {
	root, rest, err := splitRoot(args)
	if err != nil {
		relayFail("%v", err)
	}
	if len(rest) == 0 {
		relayFail("which command?")
	}
	store := relaygrant.Open(filepath.Join(root, "relay", "grants"))
	switch verb := rest[0]; verb {
	case "list":
		if len(rest) != 1 {
			relayFail("list takes no arguments")
		}
		gs, err := store.List()
		if err != nil {
			fail("%v", err)
		}
		now := time.Now()
		for _, g := range gs {
			fmt.Printf("%s until %s (%s left) %s\n", g.IP, g.Expires.UTC().Format(time.RFC3339),
				g.Expires.Sub(now).Truncate(time.Second), g.Source)
		}
	case "revoke":
		if len(rest) != 2 {
			relayFail("revoke takes one address")
		}
		ip, err := netip.ParseAddr(rest[1])
		if err != nil {
			relayFail("%q is not an IP address", rest[1])
		}
		had, err := store.Revoke(ip)
		if err != nil {
			fail("%v", err)
		}
		if !had {
			fmt.Printf("%s had no live grant\n", relaygrant.Normalize(ip))
			os.Exit(1)
		}
		fmt.Printf("revoked %s\n", relaygrant.Normalize(ip))
	case "help", "-h", "--help":
		fmt.Print(relayUsage)
	default:
		relayFail("unknown command %q", verb)
	}
}

func relayFail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "goqmail relay: "+format+"\n\n", args...)
	fmt.Fprint(os.Stderr, relayUsage)
	os.Exit(100)
}
