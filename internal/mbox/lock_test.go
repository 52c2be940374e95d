package mbox

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// holdFcntl takes a whole-file fcntl write lock on its own descriptor, as
// a reader such as mutt holds it (an OFD lock conflicts with a classic one
// like another process's would).
func holdFcntl(t *testing.T, path string) func() {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	lk := unix.Flock_t{Type: unix.F_WRLCK}
	if err := unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lk); err != nil {
		t.Skipf("no OFD locks: %v", err)
	}
	return func() { f.Close() }
}

func holdFlock(t *testing.T, path string) func() {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	return func() { f.Close() }
}

func holdDotlock(t *testing.T, path string) func() {
	if err := os.WriteFile(path+".lock", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return func() { os.Remove(path + ".lock") }
}

func TestEachLockIsHonoured(t *testing.T) {
	holders := map[string]func(*testing.T, string) func(){
		"fcntl": holdFcntl, "flock": holdFlock, "dotlock": holdDotlock,
	}
	for name, hold := range holders {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "mbox")
			release := hold(t, path)
			a := Appender{LockTimeout: 150 * time.Millisecond}
			err := a.Append(path, "s@x", when, nil, strings.NewReader("x\n"))
			if !errors.Is(err, ErrLocked) {
				release()
				t.Fatalf("append while %s lock held: %v, want ErrLocked", name, err)
			}
			if data, _ := os.ReadFile(path); len(data) != 0 {
				t.Fatalf("wrote %q while locked", data)
			}
			// Released during the wait: the append goes through.
			done := make(chan error, 1)
			go func() {
				done <- Appender{LockTimeout: 5 * time.Second}.Append(path, "s@x", when, nil, strings.NewReader("x\n"))
			}()
			time.Sleep(50 * time.Millisecond)
			release()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if data, _ := os.ReadFile(path); !strings.HasSuffix(string(data), "\nx\n\n") {
				t.Fatalf("mbox %q", data)
			}
		})
	}
}

func TestStaleDotlockIsBroken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mbox")
	holdDotlock(t, path)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(path+".lock", old, old)
	a := Appender{LockTimeout: 150 * time.Millisecond, DotlockStale: time.Minute}
	if err := a.Append(path, "s@x", when, nil, strings.NewReader("x\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + ".lock"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("our dotlock not removed: %v", err)
	}
}

// TestUnwritableDirectorySkipsDotlock: an mbox in a directory we may not
// create files in (/var/mail without a setgid helper) is still delivered,
// under the kernel locks.
func TestUnwritableDirectorySkipsDotlock(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("needs an ordinary user: root may create files anywhere, so the directory cannot be unwritable")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "mbox")
	os.WriteFile(path, nil, 0o600)
	os.Chmod(dir, 0o500)
	defer os.Chmod(dir, 0o700)
	if err := Append(path, "s@x", when, nil, strings.NewReader("x\n")); err != nil {
		t.Fatal(err)
	}
}
