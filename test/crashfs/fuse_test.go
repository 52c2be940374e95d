package crashfs

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// These tests go through the kernel: a real mount, real system calls. They
// need root and /dev/fuse and skip without them.

const helperEnv = "CRASHFS_TEST_HELPER"

func TestMain(m *testing.M) {
	RunWrapper()
	if what := os.Getenv(helperEnv); what != "" {
		if err := helper(what, os.Args[1]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// helper is the program FS.Start runs in the trap tests: it writes
// DIR/x and then calls what it is told to, nothing else.
func helper(what, dir string) error {
	if what == "syncfs-after-cut" {
		return helperAfterCut(dir)
	}
	f, err := os.OpenFile(filepath.Join(dir, "x"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Write(pages(2, 'h')); err != nil {
		return err
	}
	switch what {
	case "syncfs":
		return unix.Syncfs(int(f.Fd()))
	case "sync":
		unix.Sync()
		return nil
	case "syncfs-elsewhere":
		g, err := os.Open(os.TempDir())
		if err != nil {
			return err
		}
		defer g.Close()
		return unix.Syncfs(int(g.Fd()))
	}
	return fmt.Errorf("helper: unknown %q", what)
}

// helperAfterCut opens DIR, makes a file in it (which leaves the kernel's
// attributes of DIR stale, so a stat would have to ask the server), says
// "ready", waits for a line on standard input (the test cuts the power
// meanwhile) and then calls syncfs on DIR: it must fail with EIO.
func helperAfterCut(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := os.WriteFile(filepath.Join(dir, "x"), []byte("x"), 0o644); err != nil {
		return err
	}
	fmt.Println("ready")
	if _, err := fmt.Scanln(); err != nil {
		return err
	}
	if err := unix.Syncfs(int(d.Fd())); err != unix.EIO {
		return fmt.Errorf("syncfs after the power cut: %v, want EIO", err)
	}
	return nil
}

// needRoot skips a test that mounts crashfs, which takes root (mount(2))
// and /dev/fuse. docscheck lists the tests that call it in the README.
func needRoot(t *testing.T, why string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: " + why)
	}
	if err := Available(); err != nil {
		t.Skipf("needs /dev/fuse: %v", err)
	}
}

// mount serves img at a new directory and unmounts it when the test ends.
func mount(t *testing.T, img *Image) (*FS, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f := New(img)
	if err := f.Mount(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.Unmount(); err != nil {
			t.Error(err)
		}
	})
	return f, dir
}

func TestSystemCallsThroughTheKernel(t *testing.T) {
	needRoot(t, "mounts crashfs (FUSE) to check real system calls on it")
	f, mnt := mount(t, NewImage())
	d := filepath.Join(mnt, "d")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Mkdir(d, 0o755))
	must(syncDir(mnt))
	content := pages(2, 'c')[:5000]
	w, err := os.OpenFile(filepath.Join(d, "f"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	must(err)
	_, err = w.Write(content)
	must(err)
	must(w.Sync())
	must(w.Close())
	if _, err := os.OpenFile(filepath.Join(d, "f"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640); !errors.Is(err, os.ErrExist) {
		t.Fatalf("O_EXCL of an existing file: %v, want EEXIST", err)
	}
	must(unix.Renameat2(unix.AT_FDCWD, filepath.Join(d, "f"), unix.AT_FDCWD, filepath.Join(d, "g"), unix.RENAME_NOREPLACE))
	must(os.WriteFile(filepath.Join(d, "h"), []byte("h"), 0o600))
	if err := unix.Renameat2(unix.AT_FDCWD, filepath.Join(d, "h"), unix.AT_FDCWD, filepath.Join(d, "g"), unix.RENAME_NOREPLACE); err != unix.EEXIST {
		t.Fatalf("RENAME_NOREPLACE onto an existing name: %v, want EEXIST", err)
	}
	must(os.Chmod(filepath.Join(d, "h"), 0o604))
	must(os.Chown(filepath.Join(d, "h"), 12345, 23456))
	var st unix.Stat_t
	must(unix.Stat(filepath.Join(d, "h"), &st))
	if st.Mode&0o7777 != 0o604 || st.Uid != 12345 || st.Gid != 23456 {
		t.Fatalf("after chmod and chown: mode %o uid %d gid %d", st.Mode&0o7777, st.Uid, st.Gid)
	}
	must(syncDir(d))
	// Locks are the kernel's: a second exclusive flock on another open
	// file description is refused.
	l1, err := os.Open(filepath.Join(d, "g"))
	must(err)
	defer l1.Close()
	l2, err := os.Open(filepath.Join(d, "g"))
	must(err)
	defer l2.Close()
	must(unix.Flock(int(l1.Fd()), unix.LOCK_EX|unix.LOCK_NB))
	if err := unix.Flock(int(l2.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != unix.EWOULDBLOCK {
		t.Fatalf("second flock: %v, want EWOULDBLOCK", err)
	}
	var sfs unix.Statfs_t
	must(unix.Statfs(d, &sfs))
	if uint64(sfs.Bavail)*uint64(sfs.Bsize) < 1<<30 {
		t.Fatalf("statfs: %d blocks of %d free", sfs.Bavail, sfs.Bsize)
	}
	// Not durable: a file whose name was never synced.
	must(os.WriteFile(filepath.Join(d, "u"), []byte("unsynced"), 0o600))
	l1.Close()
	l2.Close()

	img, cs := f.Cut(rand.New(rand.NewPCG(3, 3)))
	if _, err := os.Stat(filepath.Join(d, "g")); !errors.Is(err, syscall.EIO) {
		t.Fatalf("stat after the cut: %v, want EIO", err)
	}
	t.Logf("cut: %v", cs)
	_, mnt2 := mount(t, img)
	got, err := os.ReadFile(filepath.Join(mnt2, "d", "g"))
	if err != nil || string(got) != string(content) {
		t.Fatalf("after the cut d/g = %d bytes (%v), want the fsynced %d", len(got), err, len(content))
	}
	if _, err := os.Stat(filepath.Join(mnt2, "d", "f")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("d/f after its rename was made durable: %v", err)
	}
	must(unix.Stat(filepath.Join(mnt2, "d", "h"), &st))
	if st.Mode&0o7777 != 0o600 && st.Mode&0o7777 != 0o604 {
		t.Fatalf("d/h mode %o", st.Mode&0o7777)
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// runHelper runs the test binary as helper on a fresh mount, trapped or
// not, and returns the file system after it exited.
func runHelper(t *testing.T, what string, trapped bool) *FS {
	t.Helper()
	f, mnt := mount(t, NewImage())
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, mnt)
	cmd.Env = append(os.Environ(), helperEnv+"="+what)
	out := &limitedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if trapped {
		err = f.Start(cmd)
	} else {
		err = cmd.Start()
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper %s: %v\n%s", what, err, out)
	}
	return f
}

type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if len(l.b) < 64<<10 {
		l.b = append(l.b, p...)
	}
	return len(p), nil
}
func (l *limitedBuffer) String() string { return string(l.b) }

func TestSyncfsIsTrappedAndMakesEverythingDurable(t *testing.T) {
	needRoot(t, "mounts crashfs and traps syncfs(2) with a seccomp filter")
	for _, what := range []string{"syncfs", "sync"} {
		f := runHelper(t, what, true)
		if p, s := f.Pending(), f.Stats(); p != 0 || s.Syncfs+s.Sync != 1 {
			t.Fatalf("%s through the trap: %d operations still pending, %d syncfs and %d sync seen; want 0 pending and one call", what, p, s.Syncfs, s.Sync)
		}
		img, _ := f.Cut(rand.New(rand.NewPCG(1, 2)))
		if got, _ := img.ReadFile("x"); string(got) != string(pages(2, 'h')) {
			t.Fatalf("%s: x after the cut is %d bytes", what, len(got))
		}
	}
}

// Without the trap the kernel keeps syncfs to itself: nothing becomes
// durable. This is why FS.Start exists.
func TestSyncfsDoesNotReachFUSEWithoutTheTrap(t *testing.T) {
	needRoot(t, "mounts crashfs to show syncfs(2) never reaches a FUSE server")
	f := runHelper(t, "syncfs", false)
	if p := f.Pending(); p == 0 {
		t.Fatal("an untrapped syncfs made everything durable: the kernel now sends FUSE_SYNCFS; revisit trap.go")
	}
}

func TestSyncfsOfAnotherFileSystemChangesNothing(t *testing.T) {
	needRoot(t, "mounts crashfs and traps syncfs(2) with a seccomp filter")
	f := runHelper(t, "syncfs-elsewhere", true)
	if p, s := f.Pending(), f.Stats(); p == 0 || s.Syncfs != 0 {
		t.Fatalf("syncfs of another file system: %d pending, %d syncfs applied; want the writes still pending", p, s.Syncfs)
	}
}

// A syncfs after the cut fails, even on a directory opened before it: the
// trap must not mistake the dead file system for another one (it once
// did, by stat'ing the descriptor, which the dead server answered with
// EIO, and let the call succeed, so goqmail acknowledged a message whose
// content was never durable).
func TestSyncfsAfterTheCutFails(t *testing.T) {
	needRoot(t, "mounts crashfs and traps syncfs(2) with a seccomp filter")
	f, mnt := mount(t, NewImage())
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, mnt)
	cmd.Env = append(os.Environ(), helperEnv+"=syncfs-after-cut")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errOut := &limitedBuffer{}
	cmd.Stderr = errOut
	if err := f.Start(cmd); err != nil {
		t.Fatal(err)
	}
	line := make([]byte, 6)
	if _, err := io.ReadFull(stdout, line); err != nil || string(line) != "ready\n" {
		t.Fatalf("helper did not get ready: %q %v\n%s", line, err, errOut)
	}
	f.Cut(rand.New(rand.NewPCG(1, 1)))
	stdin.Write([]byte("\n"))
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v\n%s", err, errOut)
	}
}
