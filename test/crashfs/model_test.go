package crashfs

import (
	"bytes"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// driver calls the FUSE handlers directly, as the kernel would, without a
// mount: the model's rules are tested here without root; fuse_test.go does
// the same through the kernel.
type driver struct {
	t *testing.T
	f *FS
	r *rawFS
}

func newDriver(t *testing.T) *driver {
	f := New(NewImage())
	return &driver{t: t, f: f, r: &rawFS{RawFileSystem: fuse.NewDefaultRawFileSystem(), fs: f}}
}

func (d *driver) hdr(parent uint64) fuse.InHeader { return fuse.InHeader{NodeId: parent} }

func (d *driver) check(what string, st fuse.Status) {
	d.t.Helper()
	if st != fuse.OK {
		d.t.Fatalf("%s: %v", what, st)
	}
}

func (d *driver) mkdir(parent uint64, name string) uint64 {
	d.t.Helper()
	var out fuse.EntryOut
	d.check("mkdir "+name, d.r.Mkdir(nil, &fuse.MkdirIn{InHeader: d.hdr(parent), Mode: 0o755}, name, &out))
	return out.NodeId
}

func (d *driver) create(parent uint64, name string) uint64 {
	d.t.Helper()
	var out fuse.CreateOut
	d.check("create "+name, d.r.Create(nil, &fuse.CreateIn{InHeader: d.hdr(parent), Flags: syscall.O_EXCL, Mode: 0o600}, name, &out))
	return out.NodeId
}

func (d *driver) write(ino uint64, off int64, p []byte) {
	d.t.Helper()
	_, st := d.r.Write(nil, &fuse.WriteIn{InHeader: d.hdr(ino), Offset: uint64(off)}, p)
	d.check("write", st)
}

func (d *driver) truncate(ino uint64, size int64) {
	d.t.Helper()
	var out fuse.AttrOut
	in := &fuse.SetAttrIn{SetAttrInCommon: fuse.SetAttrInCommon{InHeader: d.hdr(ino), Valid: fuse.FATTR_SIZE, Size: uint64(size)}}
	d.check("truncate", d.r.SetAttr(nil, in, &out))
}

func (d *driver) fsync(ino uint64) {
	d.check("fsync", d.r.Fsync(nil, &fuse.FsyncIn{InHeader: d.hdr(ino)}))
}
func (d *driver) fsyncDir(ino uint64) {
	d.check("fsyncdir", d.r.FsyncDir(nil, &fuse.FsyncIn{InHeader: d.hdr(ino)}))
}

func (d *driver) rename(from uint64, oldName string, to uint64, newName string, noReplace bool) fuse.Status {
	var flags uint32
	if noReplace {
		flags = 1
	}
	return d.r.Rename(nil, &fuse.RenameIn{InHeader: d.hdr(from), Newdir: to, Flags: flags}, oldName, newName)
}

func (d *driver) unlink(parent uint64, name string) {
	d.t.Helper()
	d.check("unlink "+name, d.r.Unlink(nil, &fuse.InHeader{NodeId: parent}, name))
}

// cuts runs the same history n times, one cut per seed, and returns the
// images. build must make the history on the driver it is given.
func cuts(t *testing.T, n int, build func(d *driver)) []map[string]string {
	t.Helper()
	var out []map[string]string
	for seed := range uint64(n) {
		d := newDriver(t)
		build(d)
		img, _ := d.f.Cut(rand.New(rand.NewPCG(seed, 1)))
		if s := d.f.Stats(); s.Inconsistent != 0 {
			t.Fatalf("seed %d: %d durable operations did not apply to the durable image", seed, s.Inconsistent)
		}
		out = append(out, img.Files())
	}
	return out
}

func pages(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n*pageSize) }

func TestFsyncedFileAndNameSurviveEveryCut(t *testing.T) {
	want := string(pages(3, 'a')) + "tail"
	for i, img := range cuts(t, 200, func(d *driver) {
		dir := d.mkdir(rootIno, "d")
		d.fsyncDir(rootIno)
		f := d.create(dir, "f")
		d.write(f, 0, []byte(want))
		d.fsync(f)
		d.fsyncDir(dir)
		// Later, unsynced changes to other files change nothing for it.
		g := d.create(dir, "g")
		d.write(g, 0, pages(2, 'b'))
	}) {
		if img["d/f"] != want {
			t.Fatalf("cut %d: d/f is %d bytes, want the fsynced %d", i, len(img["d/f"]), len(want))
		}
	}
}

func TestUnsyncedFileMayVanishOrTear(t *testing.T) {
	want := string(pages(1, 'a')) + string(pages(1, 'b')) + string(pages(1, 'c'))
	seen := map[string]int{}
	for i, img := range cuts(t, 300, func(d *driver) {
		dir := d.mkdir(rootIno, "d")
		d.fsyncDir(rootIno)
		d.fsyncDir(dir)
		f := d.create(dir, "f")
		d.write(f, 0, []byte(want))
	}) {
		got, ok := img["d/f"]
		switch {
		case !ok:
			seen["vanished"]++
		case got == want:
			seen["whole"]++
		case got == "":
			seen["empty"]++
		default:
			seen["torn"]++
			// Each page is either the written one or never written
			// (zeros inside the file, absent past its end).
			for p := 0; p*pageSize < len(got); p++ {
				page := got[p*pageSize : min(len(got), (p+1)*pageSize)]
				if page != want[p*pageSize:(p+1)*pageSize] && strings.Trim(page, "\x00") != "" {
					t.Fatalf("cut %d: page %d holds bytes never written there", i, p)
				}
			}
		}
	}
	for _, k := range []string{"vanished", "whole", "empty", "torn"} {
		if seen[k] == 0 {
			t.Errorf("in 300 cuts an unsynced file was never %s (seen %v)", k, seen)
		}
	}
}

func TestRenameWithoutDirFsyncMayOrMayNotSurvive(t *testing.T) {
	seen := map[string]int{}
	for i, img := range cuts(t, 200, func(d *driver) {
		tmp, nw := d.mkdir(rootIno, "tmp"), d.mkdir(rootIno, "new")
		d.fsyncDir(rootIno)
		f := d.create(tmp, "x")
		d.write(f, 0, []byte("message"))
		d.fsync(f)
		d.fsyncDir(tmp)
		d.check("rename", d.rename(tmp, "x", nw, "x", true))
	}) {
		_, old := img["tmp/x"]
		_, moved := img["new/x"]
		switch {
		case old && moved || !old && !moved:
			t.Fatalf("cut %d: a rename came back half done (tmp/x %v, new/x %v)", i, old, moved)
		case moved:
			seen["renamed"]++
			if img["new/x"] != "message" {
				t.Fatalf("cut %d: new/x = %q", i, img["new/x"])
			}
		default:
			seen["not renamed"]++
		}
	}
	if seen["renamed"] == 0 || seen["not renamed"] == 0 {
		t.Errorf("in 200 cuts an unsynced rename was always or never kept: %v", seen)
	}
}

// A file reused for a new message and renamed into place before its new
// content is durable (goqmail's syncfs mode before the fix) can come back
// under its new name with old or mixed content; fsync before the rename
// and of the directory after it leaves only the new content.
func TestRenameBeforeDataIsDurable(t *testing.T) {
	old, nw := string(pages(2, 'o')), string(pages(1, 'n'))+"end"
	reuse := func(syncFirst bool) func(d *driver) {
		return func(d *driver) {
			free, tmp, msg := d.mkdir(rootIno, "free"), d.mkdir(rootIno, "tmp"), d.mkdir(rootIno, "msg")
			d.fsyncDir(rootIno)
			f := d.create(free, "f1")
			d.write(f, 0, []byte(old))
			d.fsync(f)
			d.fsyncDir(free)
			d.check("rename", d.rename(free, "f1", tmp, "x", true))
			d.write(f, 0, []byte(nw))
			d.truncate(f, int64(len(nw)))
			if syncFirst {
				d.fsync(f)
			}
			d.check("rename", d.rename(tmp, "x", msg, "x", true))
			if syncFirst {
				d.fsyncDir(msg)
			}
		}
	}
	bad := 0
	for _, img := range cuts(t, 300, reuse(false)) {
		if got, ok := img["msg/x"]; ok && got != nw {
			bad++
		}
	}
	if bad == 0 {
		t.Error("in 300 cuts msg/x never came back with other than its new content, without syncs")
	}
	for i, img := range cuts(t, 300, reuse(true)) {
		if img["msg/x"] != nw {
			t.Fatalf("cut %d: with fsync before the rename and of msg/ after, msg/x = %d bytes, want the new %d", i, len(img["msg/x"]), len(nw))
		}
		if _, ok := img["free/f1"]; ok {
			t.Fatalf("cut %d: free/f1 survived beside msg/x: one inode, two names", i)
		}
	}
}

func TestDirFsyncPullsInWhatTheRenameNeeds(t *testing.T) {
	for i, img := range cuts(t, 200, func(d *driver) {
		tmp, nw := d.mkdir(rootIno, "tmp"), d.mkdir(rootIno, "new")
		d.fsyncDir(rootIno)
		f := d.create(tmp, "x") // tmp/ is never fsynced
		d.write(f, 0, []byte("m"))
		d.fsync(f)
		d.check("rename", d.rename(tmp, "x", nw, "x", true))
		d.fsyncDir(nw)
	}) {
		if img["new/x"] != "m" {
			t.Fatalf("cut %d: new/x = %q after fsync of new/", i, img["new/x"])
		}
		if _, ok := img["tmp/x"]; ok {
			t.Fatalf("cut %d: tmp/x is back", i)
		}
	}
}

func TestUnlinkNeedsDirFsync(t *testing.T) {
	build := func(sync bool) func(d *driver) {
		return func(d *driver) {
			dir := d.mkdir(rootIno, "d")
			d.fsyncDir(rootIno)
			f := d.create(dir, "f")
			d.write(f, 0, []byte("x"))
			d.fsync(f)
			d.fsyncDir(dir)
			d.unlink(dir, "f")
			if sync {
				d.fsyncDir(dir)
			}
		}
	}
	back := 0
	for _, img := range cuts(t, 100, build(false)) {
		if _, ok := img["d/f"]; ok {
			back++
		}
	}
	if back == 0 || back == 100 {
		t.Errorf("an unsynced unlink was undone in %d of 100 cuts, want some", back)
	}
	for i, img := range cuts(t, 100, build(true)) {
		if _, ok := img["d/f"]; ok {
			t.Fatalf("cut %d: d/f is back after unlink and fsync of d/", i)
		}
	}
}

func TestSyncMakesEverythingDurable(t *testing.T) {
	var want map[string]string
	for i, img := range cuts(t, 50, func(d *driver) {
		a := d.mkdir(rootIno, "a")
		f := d.create(a, "f")
		d.write(f, 0, pages(3, 'z'))
		d.check("rename", d.rename(a, "f", rootIno, "g", false))
		d.f.Sync()
		d.create(a, "later") // pending, may or may not survive
		want = map[string]string{"g": string(pages(3, 'z'))}
	}) {
		delete(img, "a/later")
		if len(img) != 1 || img["g"] != want["g"] {
			t.Fatalf("cut %d: after sync the image is %d files, want exactly g", i, len(img))
		}
	}
}

func TestCutIsReproducibleFromItsSeed(t *testing.T) {
	history := func(d *driver) {
		dirs := []uint64{d.mkdir(rootIno, "a"), d.mkdir(rootIno, "b")}
		for i := range 40 {
			f := d.create(dirs[i%2], "f"+strings.Repeat("x", i))
			d.write(f, 0, pages(1+i%3, byte('a'+i%26)))
			if i%5 == 0 {
				d.fsync(f)
			}
			if i%7 == 0 {
				d.fsyncDir(dirs[i%2])
			}
		}
	}
	image := func(seed uint64) string {
		d := newDriver(t)
		history(d)
		img, _ := d.f.Cut(rand.New(rand.NewPCG(seed, 7)))
		var b strings.Builder
		files := img.Files()
		for _, name := range slices.Sorted(maps.Keys(files)) {
			b.WriteString(name + "=" + files[name] + "\n")
		}
		return b.String()
	}
	differs := false
	for seed := range uint64(20) {
		a, b := image(seed), image(seed)
		if a != b {
			t.Fatalf("seed %d: two cuts of the same history differ", seed)
		}
		if a != image(seed+100) {
			differs = true
		}
	}
	if !differs {
		t.Error("20 seeds all gave the same image as another seed: the cut ignores its seed")
	}
}

func TestCutStopsEverything(t *testing.T) {
	d := newDriver(t)
	dir := d.mkdir(rootIno, "d")
	d.f.Cut(rand.New(rand.NewPCG(1, 1)))
	var out fuse.CreateOut
	if st := d.r.Create(nil, &fuse.CreateIn{InHeader: d.hdr(dir), Mode: 0o600}, "f", &out); st != fuse.EIO {
		t.Fatalf("create after the cut: %v, want EIO", st)
	}
	if d.f.syncfs("syncfs") {
		t.Fatal("syncfs after the cut reported success")
	}
}

// A rename is atomic across its two directories: a name reused in the
// source directory after the rename cannot survive without the rename
// (that would lose the renamed file), whatever the directories' syncs.
func TestRenameIsNeverHalfApplied(t *testing.T) {
	for i, img := range cuts(t, 300, func(d *driver) {
		tmp, msg := d.mkdir(rootIno, "tmp"), d.mkdir(rootIno, "msg")
		d.fsyncDir(rootIno)
		a := d.create(tmp, "x")
		d.write(a, 0, []byte("A"))
		d.fsync(a)
		d.check("rename", d.rename(tmp, "x", msg, "x", true))
		b := d.create(tmp, "x")
		d.write(b, 0, []byte("B"))
		d.fsync(b)
	}) {
		if img["tmp/x"] == "B" && img["msg/x"] != "A" {
			t.Fatalf("cut %d: tmp/x is the second file but msg/x is %q: the rename was half applied", i, img["msg/x"])
		}
	}
}

// A sync that takes time (FlushDelay) covers what was issued before it
// started, not what others do meanwhile; a cut during it fails it.
func TestSlowSyncCoversWhatCameBefore(t *testing.T) {
	d := newDriver(t)
	d.f.FlushDelay = 100 * time.Millisecond
	dir := d.mkdir(rootIno, "d")
	done := make(chan fuse.Status)
	go func() { done <- d.r.FsyncDir(nil, &fuse.FsyncIn{InHeader: d.hdr(rootIno)}) }()
	time.Sleep(20 * time.Millisecond)
	d.create(dir, "during") // while the sync runs
	if st := <-done; st != fuse.OK {
		t.Fatalf("fsync of the root: %v", st)
	}
	if p := d.f.Pending(); p != 1 {
		t.Fatalf("%d operations pending after the sync, want 1: the create made while it ran", p)
	}
	go func() { done <- d.r.FsyncDir(nil, &fuse.FsyncIn{InHeader: d.hdr(dir)}) }()
	time.Sleep(20 * time.Millisecond)
	d.f.Cut(rand.New(rand.NewPCG(1, 1)))
	if st := <-done; st != fuse.EIO {
		t.Fatalf("a sync the power cut short returned %v, want EIO", st)
	}
}
