package crashfs

import (
	"sort"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// The FUSE side: every request is applied to the current image and logged
// for the model, under FS.mu. Only one mount serves an FS, and every
// change reaches the file system through it, so the kernel may cache
// names and attributes for long (cacheFor): nothing changes behind its
// back. After a cut the mount is thrown away with the FS.

const cacheFor = time.Hour

type rawFS struct {
	fuse.RawFileSystem // ENOSYS for what is not here (xattrs, ioctl, lseek, copy_file_range...)
	fs                 *FS
}

func (f *FS) attr(ino uint64, n *inode, a *fuse.Attr) {
	a.Ino = ino
	a.Mode = n.mode
	a.Nlink = n.nlink
	a.Owner = fuse.Owner{Uid: n.uid, Gid: n.gid}
	switch {
	case n.isReg():
		a.Size = uint64(len(n.data))
	case n.isLink():
		a.Size = uint64(len(n.target))
	case n.isDir():
		a.Size = 4096
	}
	a.Blocks = (a.Size + 511) / 512
	a.Blksize = pageSize
	at, mt := time.Unix(0, n.atime), time.Unix(0, n.mtime)
	a.SetTimes(&at, &mt, &mt)
}

// entry fills a reply that hands the kernel a reference to ino.
func (f *FS) entry(ino uint64, out *fuse.EntryOut) {
	n := f.m.cur.inodes[ino]
	out.NodeId = ino
	out.SetEntryTimeout(cacheFor)
	out.SetAttrTimeout(cacheFor)
	f.attr(ino, n, &out.Attr)
	f.lookups[ino]++
}

// release frees an inode of the current image once it has no name and the
// kernel no reference (an open file keeps one).
func (f *FS) release(ino uint64) {
	n := f.m.cur.inodes[ino]
	if n != nil && ino != rootIno && f.lookups[ino] == 0 && (n.nlink == 0 || n.isDir() && n.nlink <= 1) {
		delete(f.m.cur.inodes, ino)
	}
}

func (r *rawFS) String() string { return "crashfs" }

func (r *rawFS) Lookup(_ <-chan struct{}, h *fuse.InHeader, name string, out *fuse.EntryOut) fuse.Status {
	f := r.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dead {
		return fuse.EIO
	}
	d := f.m.cur.inodes[h.NodeId]
	if d == nil || !d.isDir() {
		return fuse.ENOTDIR
	}
	ino, ok := d.ents[name]
	if !ok {
		return fuse.ENOENT
	}
	f.entry(ino, out)
	return fuse.OK
}

func (r *rawFS) Forget(nodeid, nlookup uint64) {
	f := r.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lookups[nodeid] <= nlookup {
		delete(f.lookups, nodeid)
	} else {
		f.lookups[nodeid] -= nlookup
	}
	f.release(nodeid)
}

func (r *rawFS) GetAttr(_ <-chan struct{}, in *fuse.GetAttrIn, out *fuse.AttrOut) fuse.Status {
	f := r.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dead {
		return fuse.EIO
	}
	n := f.m.cur.inodes[in.NodeId]
	if n == nil {
		return fuse.ENOENT
	}
	out.SetTimeout(cacheFor)
	f.attr(in.NodeId, n, &out.Attr)
	return fuse.OK
}

func (r *rawFS) SetAttr(_ <-chan struct{}, in *fuse.SetAttrIn, out *fuse.AttrOut) fuse.Status {
	f := r.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dead {
		return fuse.EIO
	}
	ino := in.NodeId
	n := f.m.cur.inodes[ino]
	if n == nil {
		return fuse.ENOENT
	}
	now := time.Now().UnixNano()
	if size, ok := in.GetSize(); ok {
		if !n.isReg() {
			return fuse.EINVAL
		}
		f.do(&op{kind: opTrunc, ino: ino, size: int64(size), time: now})
	}
	var a attrChange
	changed := false
	if mode, ok := in.GetMode(); ok {
		a.mode, changed = &mode, true
	}
	if uid, ok := in.GetUID(); ok {
		a.uid, changed = &uid, true
	}
	if gid, ok := in.GetGID(); ok {
		a.gid, changed = &gid, true
	}
	if in.Valid&fuse.FATTR_ATIME_NOW != 0 {
		a.atime, changed = &now, true
	} else if t, ok := in.GetATime(); ok {
		ns := t.UnixNano()
		a.atime, changed = &ns, true
	}
	if in.Valid&fuse.FATTR_MTIME_NOW != 0 {
		a.mtime, changed = &now, true
	} else if t, ok := in.GetMTime(); ok {
		ns := t.UnixNano()
		a.mtime, changed = &ns, true
	}
	if changed {
		f.do(&op{kind: opAttr, ino: ino, attr: a, time: now})
	}
	out.SetTimeout(cacheFor)
	f.attr(ino, n, &out.Attr)
	return fuse.OK
}

// do applies an operation to the current image and logs it. The caller has
// checked that it applies (the errno cases); a failure here is a bug.
func (f *FS) do(o *op) {
	var reads, writes []key
	if !o.kind.isData() {
		reads, writes = opKeys(o)
	}
	if err := apply(f.m.cur, o); err != nil {
		panic("crashfs: " + o.kind.String() + " does not apply to the current image")
	}
	f.m.log(o, reads, writes)
}

func (r *rawFS) Open(_ <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	f := r.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dead {
		return fuse.EIO
	}
	n := f.m.cur.inodes[in.NodeId]
	if n == nil {
		return fuse.ENOENT
	}
	if n.isDir() {
		return fuse.EISDIR
	}
	return fuse.OK
}

func (r *rawFS) Read(_ <-chan struct{}, in *fuse.ReadIn, buf []byte) (fuse.ReadResult, fuse.Status) {
	f := r.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dead {
		return nil, fuse.EIO
	}
	n := f.m.cur.inodes[in.NodeId]
	if n == nil || !n.isReg() {
		return nil, fuse.EINVAL
	}
	k := 0
	if in.Offset < uint64(len(n.data)) {
		k = copy(buf[:min(len(buf), int(in.Size))], n.data[in.Offset:])
	}
	return fuse.ReadResultData(buf[:k]), fuse.OK
}

func (r *rawFS) Write(cancel <-chan struct{}, in *fuse.WriteIn, data []byte) (uint32, fuse.Status) {
	return r.Writev(cancel, in, [][]byte{data})
}

func (r *rawFS) Writev(_ <-chan struct{}, in *fuse.WriteIn, data [][]byte) (uint32, fuse.Status) {
	f := r.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dead {
		return 0, fuse.EIO
	}
	n := f.m.cur.inodes[in.NodeId]
	if n == nil || !n.isReg() {
		return 0, fuse.EINVAL
	}
	var p []byte
	for _, d := range data {
		p = append(p, d...) // the op's own copy: go-fuse reuses its buffers
	}
	f.do(&op{kind: opWrite, ino: in.NodeId, off: int64(in.Offset), data: p, time: time.Now().UnixNano()})
	return uint32(len(p)), fuse.OK
}

// Flush is close(2); it fails once the power is off, like everything else
// that could tell a program its data is safe.
func (r *rawFS) Flush(_ <-chan struct{}, _ *fuse.FlushIn) fuse.Status {
	f := r.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dead {
		return fuse.EIO
	}
	return fuse.OK
}

func (r *rawFS) Release(_ <-chan struct{}, _ *fuse.ReleaseIn) {}

// Fsync is fsync(2) and fdatasync(2) of a file (bit 0 of the flags: data only).
func (r *rawFS) Fsync(_ <-chan struct{}, in *fuse.FsyncIn) fuse.Status {
	datasync := in.FsyncFlags&1 != 0
	ok := r.fs.flush(func(s *Stats) {
		if datasync {
			s.Fdatasyncs++
		} else {
			s.Fsyncs++
		}
	}, fileSync(in.NodeId, datasync))
	if !ok {
		return fuse.EIO
	}
	return fuse.OK
}

// FsyncDir is fsync(2) of a directory.
func (r *rawFS) FsyncDir(_ <-chan struct{}, in *fuse.FsyncIn) fuse.Status {
	if !r.fs.flush(func(s *Stats) { s.DirFsyncs++ }, dirSync(in.NodeId)) {
		return fuse.EIO
	}
	return fuse.OK
}

// OpenDir takes a snapshot of the entries, so a reader sees each name that
// existed when it opened the directory once, whatever changes meanwhile.
func (r *rawFS) OpenDir(_ <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	f := r.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dead {
		return fuse.EIO
	}
	d := f.m.cur.inodes[in.NodeId]
	if d == nil || !d.isDir() {
		return fuse.ENOTDIR
	}
	ents := []fuse.DirEntry{{Name: ".", Ino: in.NodeId, Mode: syscall.S_IFDIR}, {Name: "..", Mode: syscall.S_IFDIR}}
	names := make([]string, 0, len(d.ents))
	for name := range d.ents {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		ino := d.ents[name]
		ents = append(ents, fuse.DirEntry{Name: name, Ino: ino, Mode: f.m.cur.inodes[ino].mode})
	}
	f.nextFh++
	f.dirs[f.nextFh] = ents
	out.Fh = f.nextFh
	return fuse.OK
}

func (r *rawFS) ReadDir(_ <-chan struct{}, in *fuse.ReadIn, out *fuse.DirEntryList) fuse.Status {
	f := r.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dead {
		return fuse.EIO
	}
	ents := f.dirs[in.Fh]
	for i := in.Offset; i < uint64(len(ents)); i++ {
		e := ents[i]
		e.Off = i + 1
		if !out.AddDirEntry(e) {
			break
		}
	}
	return fuse.OK
}

func (r *rawFS) ReleaseDir(in *fuse.ReleaseIn) {
	f := r.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.dirs, in.Fh)
}

// StatFs reports a large, mostly empty file system, so goqmail's free
// space checks (queueminfree) pass.
func (r *rawFS) StatFs(_ <-chan struct{}, _ *fuse.InHeader, out *fuse.StatfsOut) fuse.Status {
	const blocks = 1 << 24 // 64 GB of 4 KB blocks
	out.Bsize, out.Frsize = pageSize, pageSize
	out.Blocks, out.Bfree, out.Bavail = blocks, blocks-1<<10, blocks-1<<10
	out.Files, out.Ffree = 1<<24, 1<<24-1<<10
	out.NameLen = 255
	return fuse.OK
}
