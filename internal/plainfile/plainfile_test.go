package plainfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestOpenBehavesLikeOSOpenFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	f, err := Open(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	fdFlags, err := unix.FcntlInt(f.Fd(), unix.F_GETFD, 0)
	if err != nil || fdFlags&unix.FD_CLOEXEC == 0 {
		t.Errorf("descriptor flags %#x, %v: want close-on-exec", fdFlags, err)
	}
	f.Close()
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o640 || st.Size() != 5 {
		t.Fatalf("stat: %v %v", st, err)
	}
	if _, err := Open(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second exclusive create: %v, want fs.ErrExist", err)
	}
	var pe *os.PathError
	if _, err := Open(filepath.Join(dir, "missing"), os.O_RDONLY, 0); !os.IsNotExist(err) || !errors.As(err, &pe) || pe.Path != filepath.Join(dir, "missing") {
		t.Errorf("missing file: %v, want a *PathError naming it that IsNotExist", err)
	}
	if err := os.Symlink(path, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(filepath.Join(dir, "link"), os.O_RDONLY|unix.O_NOFOLLOW, 0); !errors.Is(err, unix.ELOOP) {
		t.Errorf("O_NOFOLLOW on a symlink: %v, want ELOOP", err)
	}
}

func TestSyncDir(t *testing.T) {
	dir := t.TempDir()
	if err := SyncDir(dir); err != nil {
		t.Fatal(err)
	}
	if err := SyncDir(filepath.Join(dir, "missing")); !os.IsNotExist(err) {
		t.Errorf("missing directory: %v, want IsNotExist", err)
	}
	os.WriteFile(filepath.Join(dir, "file"), nil, 0o600)
	if err := SyncDir(filepath.Join(dir, "file")); !errors.Is(err, unix.ENOTDIR) {
		t.Errorf("a file: %v, want ENOTDIR", err)
	}
}

func TestPipeIsBlocking(t *testing.T) {
	r, w, err := Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for _, f := range []*os.File{r, w} {
		fl, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
		if err != nil || fl&unix.O_NONBLOCK != 0 {
			t.Errorf("%s: flags %#x, %v: want blocking", f.Name(), fl, err)
		}
		fd, err := unix.FcntlInt(f.Fd(), unix.F_GETFD, 0)
		if err != nil || fd&unix.FD_CLOEXEC == 0 {
			t.Errorf("%s: want close-on-exec", f.Name())
		}
	}
	if _, err := w.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	if n, err := r.Read(b); n != 1 || err != nil {
		t.Errorf("read %d, %v", n, err)
	}
}

func TestOpenRegular(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := os.WriteFile(path, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, st, err := OpenRegular(path, os.O_RDONLY|unix.O_NOFOLLOW)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size != 5 || int(st.Uid) != os.Getuid() {
		t.Errorf("stat: size %d uid %d", st.Size, st.Uid)
	}
	if fl, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0); err != nil || fl&unix.O_NONBLOCK != 0 {
		t.Errorf("flags %#x, %v: want blocking", fl, err)
	}
	f.Close()

	// A FIFO with no writer: a blocking open would wait for ever.
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		f, _, err := OpenRegular(fifo, os.O_RDONLY|unix.O_NOFOLLOW)
		if f != nil {
			f.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotRegular) {
			t.Errorf("FIFO: %v, want ErrNotRegular", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("OpenRegular blocked on a FIFO")
	}
	if _, _, err := OpenRegular(dir, os.O_RDONLY); !errors.Is(err, ErrNotRegular) {
		t.Errorf("directory: %v, want ErrNotRegular", err)
	}
	if _, _, err := OpenRegular(filepath.Join(dir, "missing"), os.O_RDONLY); !os.IsNotExist(err) {
		t.Errorf("missing: %v, want IsNotExist", err)
	}
}
