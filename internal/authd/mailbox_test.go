package authd

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"goqmail/internal/proto"
)

// sessionScript is a fake goqmail-pop3d -session: it reports its
// arguments and uid on fd 3, then echoes one line back.
const sessionScript = `#!/bin/sh
printf '%s %s uid=%s\n' "$1" "$2" "$(id -u)" >&3
read line <&3
printf 'echo %s\n' "$line" >&3
`

func TestOpenMailbox(t *testing.T) {
	uid, gid := os.Getuid(), os.Getgid()
	bin := t.TempDir()
	if os.Geteuid() == 0 {
		// Sessions never run as root: use nobody, who must reach the script.
		uid, gid = 65534, 65534
		for d := bin; d != "/" && d != "/tmp"; d = filepath.Dir(d) {
			os.Chmod(d, 0o755)
		}
	}
	prog := filepath.Join(bin, "session")
	must(t, os.WriteFile(prog, []byte(sessionScript), 0o755))
	f := newFixture(t, func(c *Config) {
		c.SessionProgram = prog
		c.VirtualUID, c.VirtualGID = uid, gid
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, r, err := f.client.OpenMailbox(ctx, proto.OpenMailbox{Login: "bob@example.com", Password: "bobpw", RemoteIP: "192.0.2.5"})
	must(t, err)
	if !r.OK || r.User != "bob@example.com" {
		t.Fatalf("OpenMailbox = %+v", r)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	line, err := br.ReadString('\n')
	must(t, err)
	want := fmt.Sprintf("-session %s uid=%d\n", filepath.Join(f.root, "vmail", "example.com", "bob", "Maildir"), uid)
	if line != want {
		t.Errorf("session started as %q, want %q", line, want)
	}
	fmt.Fprintf(conn, "hello\n")
	if line, err = br.ReadString('\n'); err != nil || line != "echo hello\n" {
		t.Errorf("session answered %q, %v", line, err)
	}

	// A wrong password opens nothing and is answered like any failure.
	conn2, r, err := f.client.OpenMailbox(ctx, proto.OpenMailbox{Login: "bob@example.com", Password: "nope", RemoteIP: "192.0.2.5"})
	if err != nil || conn2 != nil || r.OK || r.Temporary {
		t.Errorf("wrong password: %v %+v %v", conn2, r, err)
	}
}

func TestOpenMailboxRefusesRootAndMissingProgram(t *testing.T) {
	tests := []struct {
		name      string
		uid       int
		prog      string
		wantInLog string
	}{
		{"root owner", 0, "/bin/true", "belongs to root"},
		{"missing program", 65534, "/nonexistent/goqmail-pop3d", "start mailbox session"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) {
				c.SessionProgram = tc.prog
				c.VirtualUID = tc.uid
				if os.Geteuid() != 0 && tc.uid != 0 {
					c.VirtualUID = os.Getuid()
				}
			})
			conn, r, err := f.client.OpenMailbox(context.Background(), proto.OpenMailbox{Login: "bob@example.com", Password: "bobpw", RemoteIP: "192.0.2.5"})
			if err != nil || conn != nil || r.OK || !r.Temporary {
				t.Errorf("OpenMailbox = %v %+v %v, want a temporary failure", conn, r, err)
			}
			if !strings.Contains(f.log.String(), tc.wantInLog) {
				t.Errorf("log lacks %q:\n%s", tc.wantInLog, f.log.String())
			}
		})
	}
}

func TestOpenMailboxAPOPSystemUser(t *testing.T) {
	// A system user's session runs as the account; the fake account's uid
	// is only usable as root, and without root only our own uid is.
	f := newFixture(t, func(c *Config) { c.SessionProgram = "/bin/true" })
	_, r, err := f.client.OpenMailbox(context.Background(), proto.OpenMailbox{Login: "sys", Password: "sys secret", RemoteIP: "192.0.2.5"})
	must(t, err)
	if os.Geteuid() != 0 && (r.OK || !r.Temporary) {
		t.Errorf("non-root service (uid %d) opened uid %d's mailbox: %+v", os.Getuid(), sysUID, r)
	}
}
