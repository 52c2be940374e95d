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

// newInode makes an inode in the current image and, unnamed, in the
// durable one: it exists on disk from the start, reachable only once a
// name for it is durable.
func (f *FS) newInode(h *fuse.InHeader, parent *inode, mode uint32) uint64 {
	ino := f.m.cur.next
	f.m.cur.next++
	f.m.dur.next = f.m.cur.next
	gid := h.Gid
	if parent.mode&syscall.S_ISGID != 0 {
		// BSD group semantics of a setgid directory, as Linux does.
		gid = parent.gid
		if mode&syscall.S_IFMT == syscall.S_IFDIR {
			mode |= syscall.S_ISGID
		}
	}
	now := time.Now().UnixNano()
	n := &inode{mode: mode, uid: h.Uid, gid: gid, mtime: now, atime: now}
	if n.isDir() {
		n.ents = map[string]uint64{}
		n.nlink = 1 // the create makes it 2
	}
	f.m.cur.inodes[ino] = n
	d := *n
	if n.isDir() {
		d.ents = map[string]uint64{}
	}
	f.m.dur.inodes[ino] = &d
	return ino
}

// create checks and makes a new name with a new inode.
func (f *FS) create(h *fuse.InHeader, name string, mode uint32, target string) (uint64, fuse.Status) {
	if f.dead {
		return 0, fuse.EIO
	}
	d := f.m.cur.inodes[h.NodeId]
	if d == nil || !d.isDir() {
		return 0, fuse.ENOTDIR
	}
	if _, ok := d.ents[name]; ok {
		return 0, fuse.Status(syscall.EEXIST)
	}
	ino := f.newInode(h, d, mode)
	if target != "" {
		f.m.cur.inodes[ino].target = target
		f.m.dur.inodes[ino].target = target
	}
	f.do(&op{kind: opCreate, ino: ino, dir: h.NodeId, name: name, time: time.Now().UnixNano()})
	return ino, fuse.OK
}

func (r *rawFS) Create(_ <-chan struct{}, in *fuse.CreateIn, name string, out *fuse.CreateOut) fuse.Status {
	f := r.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dead {
		return fuse.EIO
	}
	if d := f.m.cur.inodes[in.NodeId]; d != nil && d.isDir() {
		if ino, ok := d.ents[name]; ok {
			// open(O_CREAT) without O_EXCL of an existing file.
			if in.Flags&syscall.O_EXCL != 0 {
				return fuse.Status(syscall.EEXIST)
			}
			n := f.m.cur.inodes[ino]
			if n.isDir() {
				return fuse.EISDIR
			}
			if in.Flags&syscall.O_TRUNC != 0 && len(n.data) > 0 {
				f.do(&op{kind: opTrunc, ino: ino, size: 0, time: time.Now().UnixNano()})
			}
			f.entry(ino, &out.EntryOut)
			return fuse.OK
		}
	}
	ino, st := f.create(&in.InHeader, name, syscall.S_IFREG|in.Mode&0o7777, "")
	if st != fuse.OK {
		return st
	}
	f.entry(ino, &out.EntryOut)
	return fuse.OK
}

func (r *rawFS) Mknod(_ <-chan struct{}, in *fuse.MknodIn, name string, out *fuse.EntryOut) fuse.Status {
	if in.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return fuse.EPERM // devices, fifos and sockets: goqmail makes none here
	}
	f := r.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	ino, st := f.create(&in.InHeader, name, syscall.S_IFREG|in.Mode&0o7777, "")
	if st == fuse.OK {
		f.entry(ino, out)
	}
	return st
}

func (r *rawFS) Mkdir(_ <-chan struct{}, in *fuse.MkdirIn, name string, out *fuse.EntryOut) fuse.Status {
	f := r.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	ino, st := f.create(&in.InHeader, name, syscall.S_IFDIR|in.Mode&0o7777, "")
	if st == fuse.OK {
		f.entry(ino, out)
	}
	return st
}

func (r *rawFS) Symlink(_ <-chan struct{}, h *fuse.InHeader, target, name string, out *fuse.EntryOut) fuse.Status {
	if target == "" {
		return fuse.Status(syscall.ENOENT)
	}
	f := r.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	ino, st := f.create(h, name, syscall.S_IFLNK|0o777, target)
	if st == fuse.OK {
		f.entry(ino, out)
	}
	return st
}

func (r *rawFS) Readlink(_ <-chan struct{}, h *fuse.InHeader) ([]byte, fuse.Status) {
	f := r.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dead {
		return nil, fuse.EIO
	}
	n := f.m.cur.inodes[h.NodeId]
	if n == nil || !n.isLink() {
		return nil, fuse.EINVAL
	}
	return []byte(n.target), fuse.OK
}

func (r *rawFS) Link(_ <-chan struct{}, in *fuse.LinkIn, name string, out *fuse.EntryOut) fuse.Status {
	f := r.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dead {
		return fuse.EIO
	}
	d, n := f.m.cur.inodes[in.NodeId], f.m.cur.inodes[in.Oldnodeid]
	switch {
	case d == nil || !d.isDir():
		return fuse.ENOTDIR
	case n == nil:
		return fuse.ENOENT
	case n.isDir():
		return fuse.EPERM
	}
	if _, ok := d.ents[name]; ok {
		return fuse.Status(syscall.EEXIST)
	}
	f.do(&op{kind: opLink, ino: in.Oldnodeid, dir: in.NodeId, name: name, time: time.Now().UnixNano()})
	f.entry(in.Oldnodeid, out)
	return fuse.OK
}

func (f *FS) remove(h *fuse.InHeader, name string, dir bool) fuse.Status {
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
	n := f.m.cur.inodes[ino]
	switch {
	case dir && !n.isDir():
		return fuse.ENOTDIR
	case !dir && n.isDir():
		return fuse.EISDIR
	case dir && len(n.ents) > 0:
		return fuse.Status(syscall.ENOTEMPTY)
	}
	f.do(&op{kind: opUnlink, ino: ino, dir: h.NodeId, name: name, time: time.Now().UnixNano()})
	f.release(ino)
	return fuse.OK
}

func (r *rawFS) Unlink(_ <-chan struct{}, h *fuse.InHeader, name string) fuse.Status {
	return r.fs.remove(h, name, false)
}

func (r *rawFS) Rmdir(_ <-chan struct{}, h *fuse.InHeader, name string) fuse.Status {
	return r.fs.remove(h, name, true)
}

func (r *rawFS) Rename(_ <-chan struct{}, in *fuse.RenameIn, oldName, newName string) fuse.Status {
	const noReplace = 1 // RENAME_NOREPLACE; RENAME_EXCHANGE and RENAME_WHITEOUT are not modelled
	if in.Flags&^noReplace != 0 {
		return fuse.EINVAL
	}
	f := r.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dead {
		return fuse.EIO
	}
	src, dst := f.m.cur.inodes[in.NodeId], f.m.cur.inodes[in.Newdir]
	if src == nil || dst == nil || !src.isDir() || !dst.isDir() {
		return fuse.ENOTDIR
	}
	ino, ok := src.ents[oldName]
	if !ok {
		return fuse.ENOENT
	}
	n := f.m.cur.inodes[ino]
	victim, taken := dst.ents[newName]
	if taken {
		v := f.m.cur.inodes[victim]
		switch {
		case in.Flags&noReplace != 0:
			return fuse.Status(syscall.EEXIST)
		case victim == ino:
			return fuse.OK // two names of one file: rename(2) does nothing
		case n.isDir() && !v.isDir():
			return fuse.ENOTDIR
		case !n.isDir() && v.isDir():
			return fuse.EISDIR
		case v.isDir() && len(v.ents) > 0:
			return fuse.Status(syscall.ENOTEMPTY)
		}
	}
	f.do(&op{kind: opRename, ino: ino, dir: in.NodeId, name: oldName, dir2: in.Newdir, name2: newName,
		noReplace: in.Flags&noReplace != 0, time: time.Now().UnixNano()})
	if taken {
		f.release(victim)
	}
	return fuse.OK
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
