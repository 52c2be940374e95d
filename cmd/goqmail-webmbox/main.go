// Command goqmail-webmbox is the webmail's mailbox session
// (internal/webmbox). goqmail-auth starts it after a web login, as the
// mailbox owner (goqmailv for virtual users, the account for system
// users), with one end of a stream socketpair on fd 3 whose other end the
// web front holds:
//
//	goqmail-webmbox -session MAILDIR
//
// with GOQMAIL_ROOT, GOQMAIL_WEB_LOGIN, GOQMAIL_WEB_ADDRESS,
// GOQMAIL_WEB_KIND and GOQMAIL_WEB_OWNS (comma-separated) in the
// environment, and HOME. It exits when the front closes the socket or
// after idleTimeout without a request.
//
// SECURITY. It refuses to run as root. It trusts its environment and
// arguments (goqmail-auth set them after checking the password) and
// distrusts every request and every byte of mail.
package main

import (
	"net"
	"os"
	"strings"
	"time"

	"goqmail/internal/logline"
	"goqmail/internal/mailstore"
	"goqmail/internal/webmbox"
	"goqmail/internal/webrpc"
)

// idleTimeout ends a session the front forgot: the front's own session
// lifetime (internal/web) is shorter.
const idleTimeout = 13 * time.Hour

func main() {
	log := logline.New("webmbox")
	if len(os.Args) != 3 || os.Args[1] != "-session" {
		log.Printf("usage: goqmail-webmbox -session MAILDIR (started by goqmail-auth)")
		os.Exit(100)
	}
	if os.Getuid() == 0 || os.Geteuid() == 0 {
		log.Printf("alert: -session refuses to run as root")
		os.Exit(100)
	}
	f := os.NewFile(3, "web-front")
	if f == nil {
		log.Printf("alert: -session: fd 3 is not open")
		os.Exit(111)
	}
	conn, err := net.FileConn(f)
	f.Close()
	if err != nil {
		log.Printf("alert: -session: fd 3: %v", err)
		os.Exit(111)
	}
	st, err := mailstore.Open(os.Args[2])
	if err != nil {
		log.Printf("alert: %v", err)
		os.Exit(111)
	}
	s := &webmbox.Session{
		Store:   st,
		Login:   os.Getenv("GOQMAIL_WEB_LOGIN"),
		Address: os.Getenv("GOQMAIL_WEB_ADDRESS"),
		Kind:    os.Getenv("GOQMAIL_WEB_KIND"),
		Home:    os.Getenv("HOME"),
		Root:    os.Getenv("GOQMAIL_ROOT"),
		Log:     log,
	}
	if o := os.Getenv("GOQMAIL_WEB_OWNS"); o != "" {
		s.Owns = strings.Split(o, ",")
	}
	if err := webrpc.Serve(conn, idleTimeout, s.Handle); err != nil {
		log.Printf("webmail session of %s ended: %v", s.Login, err)
		os.Exit(111)
	}
}
