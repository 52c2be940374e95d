package crashfs

import (
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// The FUSE requests that make, link, remove and rename names.

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
