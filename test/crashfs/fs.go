package crashfs

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// FS is one life of the file system between two power cuts: the model and
// the FUSE mount that serves it.
type FS struct {
	mu      sync.Mutex
	m       *model
	lookups map[uint64]uint64 // kernel references per node id (FUSE lookup counts)
	dirs    map[uint64][]fuse.DirEntry
	nextFh  uint64
	// dead is set by Cut: from then on every operation fails with EIO
	// and changes nothing, as if the disk had gone away.
	dead bool

	// FlushDelay is how long a sync call (fsync, fdatasync, a directory's
	// fsync, syncfs, sync) takes, as a disk's cache flush does: it makes
	// durable what was issued before it started, at the end of the delay,
	// while other processes go on. Zero: at once. Set it before Mount.
	FlushDelay time.Duration

	srv    *fuse.Server
	served chan struct{} // closed when the server's loop ends
	dir    string
	dev    uint64 // the mount's st_dev, to recognise syncfs(2) on it
}

// New returns a file system whose whole content is img, all of it
// durable. img becomes the file system's; use Clone to keep a copy.
func New(img *Image) *FS {
	return &FS{m: newModel(img), lookups: map[uint64]uint64{}, dirs: map[uint64][]fuse.DirEntry{}}
}

// Mount serves the file system at dir (an existing directory) until
// Unmount. It needs root and /dev/fuse (Available says whether both are
// there). Every user may use it, with the kernel checking permissions
// against the modes and owners in the image, as on a disk.
func (f *FS) Mount(dir string) error {
	opts := &fuse.MountOptions{
		AllowOther:         true,
		Options:            []string{"default_permissions"},
		Name:               "crashfs",
		FsName:             "crashfs",
		DirectMountStrict:  true, // mount(2) as root: no fusermount needed
		DisableXAttrs:      true,
		DisableReadDirPlus: true, // plain READDIR: lookups stay countable
		MaxBackground:      64,
	}
	srv, err := fuse.NewServer(&rawFS{RawFileSystem: fuse.NewDefaultRawFileSystem(), fs: f}, dir, opts)
	if err != nil {
		return fmt.Errorf("crashfs: mount %s: %w", dir, err)
	}
	f.served = make(chan struct{})
	go func() { srv.Serve(); close(f.served) }()
	f.srv, f.dir = srv, dir
	if err := srv.WaitMount(); err != nil {
		f.Unmount()
		return fmt.Errorf("crashfs: mount %s: %w", dir, err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		f.Unmount()
		return fmt.Errorf("crashfs: mount %s: %w", dir, err)
	}
	f.dev = st.Dev
	return nil
}

// Unmount detaches the mount and waits for the server to end. A process
// that still holds a file open there (none should, after a cut) gets its
// connection aborted.
func (f *FS) Unmount() error {
	if f.srv == nil {
		return nil
	}
	defer func() { f.srv = nil }()
	// MNT_DETACH: the name goes at once even if something still holds
	// the mount; the server ends when the last reference does.
	if err := syscall.Unmount(f.dir, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("crashfs: unmount %s: %w", f.dir, err)
	}
	select {
	case <-f.served:
		return nil
	case <-time.After(10 * time.Second):
	}
	// The connection's number is the minor device number of the mount.
	abort := fmt.Sprintf("/sys/fs/fuse/connections/%d/abort", unix.Minor(f.dev))
	if err := os.WriteFile(abort, []byte("1"), 0); err != nil {
		return fmt.Errorf("crashfs: %s still in use 10 s after unmount, and abort failed: %w", f.dir, err)
	}
	select {
	case <-f.served:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("crashfs: the server of %s did not end after abort", f.dir)
	}
}

// Dev is the device number stat(2) reports for files on the mount.
func (f *FS) Dev() uint64 { return f.dev }

// Sync makes everything durable at once, as a machine left idle for half
// a minute does through the kernel's write-back.
func (f *FS) Sync() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.dead {
		f.m.stats.Writebacks++
		f.m.commit(f.m.pick(allSync))
	}
}

// flush is one sync call by a program: count it, pick what it covers, and
// after FlushDelay make that durable. false: the power went off first, the
// call fails.
func (f *FS) flush(count func(*Stats), sel func(*op) bool) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dead {
		return false
	}
	count(&f.m.stats)
	seqs := f.m.pick(sel)
	if f.FlushDelay > 0 {
		f.mu.Unlock()
		time.Sleep(f.FlushDelay)
		f.mu.Lock()
		if f.dead {
			return false
		}
	}
	f.m.commit(seqs)
	return true
}

// syncfs is syncfs(2) or sync(2) of this file system by a program.
func (f *FS) syncfs(what string) bool {
	return f.flush(func(s *Stats) {
		if what == "sync" {
			s.Sync++
		} else {
			s.Syncfs++
		}
	}, allSync)
}

// Cut simulates a power loss now: the file system stops at once (every
// later operation fails with EIO and changes nothing) and Cut returns what
// a disk would hold afterwards (see cut). Unmount it and serve the image
// with a new FS to "boot" again.
func (f *FS) Cut(r *rand.Rand) (*Image, CutStats) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dead {
		panic("crashfs: Cut called twice")
	}
	f.dead = true
	f.m.dur.next = f.m.cur.next
	return f.m.cut(r)
}

// Stats returns the model's counters so far.
func (f *FS) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.m.stats
	return s
}

// Pending is the number of operations not yet durable.
func (f *FS) Pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.m.pending)
}

// Available says why crashfs cannot mount here, or nil: it needs root
// (mount(2)) and /dev/fuse.
func Available() error {
	if os.Geteuid() != 0 {
		return errors.New("crashfs needs root (it mounts a FUSE file system with mount(2))")
	}
	fd, err := os.OpenFile("/dev/fuse", os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("crashfs needs /dev/fuse: %w", err)
	}
	fd.Close()
	return nil
}
