package main

import (
	"net"
	"os"
	"time"

	"goqmail/internal/logline"
	"goqmail/internal/webadmin"
	"goqmail/internal/webrpc"
)

const adminSessionUsage = `usage: goqmail admin-session -role site|domain [-domain DOMAIN] -login LOGIN [-root ROOT]
  The web administration's session (internal/webadmin, docs/web.md). goqmail-auth
  starts it, as root, after a web login with an admin role, with one end of a
  socket on descriptor 3 whose other end goqmail-web holds; it answers the
  front's requests there, each checked against the role given here (site: every
  domain, the queue, the grants, the log; domain: DOMAIN and its alias domains
  only), and exits when the front closes the socket or after 13 hours idle.
  Not for people: the role comes from goqmail-auth, which checked the password.
` + rootHelp

// adminSessionIdle ends a session the front forgot (the front's own
// session lifetime is shorter), as goqmail-webmbox does.
const adminSessionIdle = 13 * time.Hour

func adminSessionCmd(c *call) {
	var role, domain, login string
	args := c.args
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "-role", "--role", "-domain", "--domain", "-login", "--login":
			if i+1 == len(args) {
				usageFail(c.cmd, "%s needs a value", args[i])
			}
		default:
			usageFail(c.cmd, "unknown option %s", args[i])
		}
		switch args[i] {
		case "-role", "--role":
			role = args[i+1]
		case "-domain", "--domain":
			domain = args[i+1]
		case "-login", "--login":
			login = args[i+1]
		}
		i++
	}
	if login == "" {
		usageFail(c.cmd, "-login is missing")
	}
	log := logline.New("admin-session")
	s, err := webadmin.New(c.root, role, domain, login, log)
	if err != nil {
		usageFail(c.cmd, "%v", err)
	}
	f := os.NewFile(3, "web-front")
	conn, err := net.FileConn(f)
	if err != nil {
		fail("admin-session: descriptor 3 is not the web front's socket (%v): goqmail-auth starts this, not people", err)
	}
	f.Close()
	if err := webrpc.Serve(conn, adminSessionIdle, s.Handle); err != nil {
		log.Printf("web admin session of %s ended: %v", login, err)
		os.Exit(exitTrouble)
	}
}
