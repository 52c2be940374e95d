package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"goqmail/internal/vdir"
)

// openPTY opens a pseudo-terminal: the master, and the slave a program
// gets as its terminal.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return m, s
}

// terminalOutput collects what a program writes to its terminal.
type terminalOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *terminalOutput) String() string { o.mu.Lock(); defer o.mu.Unlock(); return o.buf.String() }

// waitFor waits until the terminal shows text (a hang guard, not a
// timing assertion).
func (o *terminalOutput) waitFor(t *testing.T, text string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(o.String(), text) {
		if time.Now().After(deadline) {
			t.Fatalf("the terminal never showed %q; it shows %q", text, o.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPasswordPromptDoesNotEcho: `goqmail user add` on a terminal asks
// twice, and what is typed is not echoed (issue 10, item 7).
func TestPasswordPromptDoesNotEcho(t *testing.T) {
	if os.Geteuid() == 0 {
		if _, err := user.Lookup("goqmailv"); err != nil {
			t.Skip("needs an ordinary user: as root the virtual directory belongs to goqmailv, which does not exist here (goqmail install makes it)")
		}
	}
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "control"), 0o755)
	if r := goqmail(t, root, nil, "domain", "add", "x.example", "-root", root); r.code != 0 {
		t.Fatalf("domain add: %+v", r)
	}
	master, slave := openPTY(t)
	defer master.Close()
	cmd := exec.Command(os.Args[0], "user", "add", "bob@x.example", "-root", root)
	cmd.Env = []string{"GOQMAIL_TEST_MAIN=1", "PATH=" + os.Getenv("PATH")}
	var stdout bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, &stdout, slave
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	var term terminalOutput
	go func() {
		b := make([]byte, 1024)
		for {
			n, err := master.Read(b)
			term.mu.Lock()
			term.buf.Write(b[:n])
			term.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	const secret = "pty-s3cret"
	term.waitFor(t, "New password for bob@x.example: ")
	master.Write([]byte(secret + "\n"))
	term.waitFor(t, "Same password again: ")
	master.Write([]byte(secret + "\n"))
	if err := cmd.Wait(); err != nil {
		t.Fatalf("user add: %v; terminal %q, stdout %q", err, term.String(), stdout.String())
	}
	if strings.Contains(term.String(), secret) {
		t.Errorf("the password was echoed: %q", term.String())
	}
	if !strings.HasPrefix(stdout.String(), "added user bob@x.example") {
		t.Errorf("stdout %q", stdout.String())
	}
	d := vdir.OpenFiles(filepath.Join(root, "vdir"), filepath.Join(root, "vmail"), -1, -1)
	if _, ok, err := d.Authenticate("bob@x.example", secret); !ok || err != nil {
		t.Errorf("the password typed does not log in: %v, %v", ok, err)
	}
}
