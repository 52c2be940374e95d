package main

import (
	"fmt"
	"os"
	"strings"

	"goqmail/internal/admin"
)

// The commands of mail other servers trust (docs/outbound.md): DKIM keys,
// SRS secrets, DNS record advice. Exit 0 on success, 100 for a mistake
// in the command, 111 for trouble; `dns check` exits 1 when a record is
// missing or wrong.

func dkimCmd(c *call) {
	outboundCmd(c, func() (bool, error) { return admin.DKIMCmd(c.root, c.args, os.Stdout) })
}

func srsCmd(c *call) {
	outboundCmd(c, func() (bool, error) { return admin.SRSCmd(c.root, c.args, os.Stdout) })
}

func dnsCmd(c *call) {
	outboundCmd(c, func() (bool, error) { return admin.DNSCmd(c.root, c.args, os.Getenv("GOQMAIL_DNS"), os.Stdout) })
}

func outboundCmd(c *call, run func() (bool, error)) {
	if len(c.args) == 0 {
		usageFail(c.cmd, "which command?")
	}
	if strings.HasPrefix(c.args[0], "-") {
		usageFail(c.cmd, "unknown option %s", c.args[0])
	}
	changed, err := run()
	if err != nil {
		if _, ok := err.(*admin.UsageError); ok {
			usageFail(c.cmd, "%v", err)
		}
		fmt.Fprintf(os.Stderr, "goqmail %s: %v\n", c.cmd.name, err)
		os.Exit(admin.ExitCode(err))
	}
	if changed {
		fmt.Println(admin.SignalReload(c.root))
	}
}
