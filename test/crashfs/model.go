package crashfs

import (
	"errors"
	"sort"
	"syscall"
)

// The model keeps two images and a log between them:
//
//   - cur, what the mount shows: every operation applied;
//   - dur, what survives any power cut: only operations made durable;
//   - pending, the operations applied to cur but not yet to dur, in the
//     order they happened.
//
// An operation is made durable by applying it to dur and taking it out of
// pending. Which calls make which operations durable is in doc.go.

type opKind uint8

const (
	opWrite  opKind = iota + 1 // data: bytes at an offset
	opTrunc                    // data: a new size
	opAttr                     // inode: mode, owner or times
	opCreate                   // name: a new inode under a name (file, directory, symlink)
	opLink                     // name: another name for an inode
	opUnlink                   // name: a name removed (unlink, rmdir)
	opRename                   // name: a name moved, possibly over another
)

var opNames = map[opKind]string{opWrite: "write", opTrunc: "truncate", opAttr: "attr", opCreate: "create", opLink: "link", opUnlink: "unlink", opRename: "rename"}

func (k opKind) String() string { return opNames[k] }

// isData: an operation on one inode's content or attributes, made durable
// by fsync of that inode. The others are name operations, made durable by
// fsync of a directory they change.
func (k opKind) isData() bool { return k == opWrite || k == opTrunc || k == opAttr }

// attrChange is what a setattr changed (nil fields: unchanged).
type attrChange struct {
	mode         *uint32 // permission bits only
	uid, gid     *uint32
	atime, mtime *int64
}

type op struct {
	seq  uint64
	kind opKind
	ino  uint64 // the inode written, or the inode a name operation names
	// dir/name: the directory entry made or removed; for a rename the
	// source, and dir2/name2 the destination.
	dir, dir2   uint64
	name, name2 string
	noReplace   bool // rename: RENAME_NOREPLACE

	off  int64  // write
	data []byte // write (a private copy)
	size int64  // truncate
	attr attrChange
	time int64 // when it happened: the mtime it gives

	// deps are earlier operations this one needs: it touches a name or
	// an inode's existence that they changed or read. It can only be
	// durable, or survive a cut, if they are or do too.
	deps []uint64
}

// keys name what a name operation depends on: a directory entry, or an
// inode's existence (a directory must exist to hold names; rmdir needs it
// empty, which every operation on its entries reads).
type keyKind uint8

const (
	keyEntry keyKind = iota
	keyExists
)

type key struct {
	kind keyKind
	ino  uint64
	name string
}

type keyState struct {
	writer  uint64   // last pending operation that changed it (0: none)
	readers []uint64 // pending operations that read it since
}

// model is the state shared by the FUSE server and the cut. All of it is
// guarded by FS.mu.
type model struct {
	cur, dur *Image
	pending  map[uint64]*op
	order    []uint64 // pending sequence numbers, oldest first (may hold durable ones until compacted)
	seq      uint64
	keys     map[key]*keyState
	stats    Stats
}

// Stats counts what the model saw; Cut returns what a cut did.
type Stats struct {
	Ops, Durable            int // operations logged, and made durable by a sync
	Fsyncs, Fdatasyncs      int
	DirFsyncs, Syncfs, Sync int
	Writebacks              int // FS.Sync: the harness's idle write-back
	// Inconsistent counts durable operations whose preconditions did not
	// hold on the durable image: a model bug, always 0 in the tests.
	Inconsistent int
}

func newModel(img *Image) *model {
	img.collect()
	return &model{cur: img.Clone(), dur: img, pending: map[uint64]*op{}, keys: map[key]*keyState{}}
}

// log records an operation already applied to cur, with its dependencies
// on earlier pending ones through the keys it reads and writes.
func (m *model) log(o *op, reads, writes []key) {
	m.seq++
	o.seq = m.seq
	m.stats.Ops++
	deps := map[uint64]bool{}
	for _, k := range reads {
		if ks := m.keys[k]; ks != nil && ks.writer != 0 {
			deps[ks.writer] = true
		}
	}
	for _, k := range writes {
		if ks := m.keys[k]; ks != nil {
			if ks.writer != 0 {
				deps[ks.writer] = true
			}
			for _, r := range ks.readers {
				deps[r] = true
			}
		}
	}
	for d := range deps {
		if _, ok := m.pending[d]; ok {
			o.deps = append(o.deps, d)
		}
	}
	sort.Slice(o.deps, func(i, j int) bool { return o.deps[i] < o.deps[j] })
	for _, k := range reads {
		ks := m.key(k)
		ks.readers = append(ks.readers, o.seq)
	}
	for _, k := range writes {
		ks := m.key(k)
		ks.writer, ks.readers = o.seq, nil
	}
	m.pending[o.seq] = o
	m.order = append(m.order, o.seq)
}

func (m *model) key(k key) *keyState {
	ks := m.keys[k]
	if ks == nil {
		ks = &keyState{}
		m.keys[k] = ks
	}
	return ks
}

// opKeys returns what a name operation reads and writes.
func opKeys(o *op) (reads, writes []key) {
	entry := func(dir uint64, name string) key { return key{kind: keyEntry, ino: dir, name: name} }
	exists := func(ino uint64) key { return key{kind: keyExists, ino: ino} }
	switch o.kind {
	case opCreate:
		return []key{exists(o.dir)}, []key{entry(o.dir, o.name), exists(o.ino)}
	case opLink:
		return []key{exists(o.dir), exists(o.ino)}, []key{entry(o.dir, o.name)}
	case opUnlink:
		return []key{exists(o.dir)}, []key{entry(o.dir, o.name), exists(o.ino)}
	case opRename:
		return []key{exists(o.dir), exists(o.dir2), exists(o.ino)}, []key{entry(o.dir, o.name), entry(o.dir2, o.name2)}
	}
	return nil, nil
}

// makeDurable applies o, and first every pending operation it depends on,
// to the durable image.
func (m *model) makeDurable(o *op) {
	if _, ok := m.pending[o.seq]; !ok {
		return
	}
	delete(m.pending, o.seq) // before the deps: a cycle cannot happen, but must not loop
	for _, d := range o.deps {
		if dep, ok := m.pending[d]; ok {
			m.makeDurable(dep)
		}
	}
	if err := apply(m.dur, o); err != nil {
		m.stats.Inconsistent++
	}
	m.stats.Durable++
}

// pick returns the pending operations sel chooses, oldest first: what a
// sync call covers is what was issued before it started.
func (m *model) pick(sel func(*op) bool) []uint64 {
	var seqs []uint64
	for _, s := range m.order {
		if o, ok := m.pending[s]; ok && sel(o) {
			seqs = append(seqs, s)
		}
	}
	return seqs
}

// commit makes the picked operations durable (those still pending), then
// tidies the log.
func (m *model) commit(seqs []uint64) {
	for _, s := range seqs {
		if o, ok := m.pending[s]; ok {
			m.makeDurable(o)
		}
	}
	m.compact()
}

// compact drops durable entries from order and keys no pending operation
// is named in, so the log's bookkeeping stays as small as what is pending.
func (m *model) compact() {
	if len(m.pending) == 0 {
		m.order = m.order[:0]
		clear(m.keys)
		return
	}
	if len(m.order) < 2*len(m.pending)+64 {
		return
	}
	live := m.order[:0]
	for _, s := range m.order {
		if _, ok := m.pending[s]; ok {
			live = append(live, s)
		}
	}
	m.order = live
	for k, ks := range m.keys {
		if _, ok := m.pending[ks.writer]; ok {
			continue
		}
		ks.writer = 0
		readers := ks.readers[:0]
		for _, r := range ks.readers {
			if _, ok := m.pending[r]; ok {
				readers = append(readers, r)
			}
		}
		ks.readers = readers
		if len(readers) == 0 {
			delete(m.keys, k)
		}
	}
}

// fileSync selects what fsync(2) of a file makes durable: its writes,
// truncations and attribute changes; fdatasync(2): writes and
// truncations. Not its names.
func fileSync(ino uint64, datasync bool) func(*op) bool {
	return func(o *op) bool {
		return o.ino == ino && (o.kind == opWrite || o.kind == opTrunc || o.kind == opAttr && !datasync)
	}
}

// dirSync selects what fsync(2) of a directory makes durable: every name
// operation that changed its entries (a rename: through either of its two
// directories, see doc.go) and its own attributes.
func dirSync(dir uint64) func(*op) bool {
	return func(o *op) bool {
		if o.kind.isData() {
			return o.kind == opAttr && o.ino == dir
		}
		return o.dir == dir || o.kind == opRename && o.dir2 == dir
	}
}

// allSync selects everything: syncfs(2), sync(2), the harness's write-back.
func allSync(*op) bool { return true }

var (
	errPrecondition = errors.New("precondition does not hold")
)

// apply performs o on img. It checks the operation's preconditions (the
// names and inodes it needs exist, a name it makes does not) and changes
// nothing when one fails: on the durable image that is a model bug, on a
// cut's image an operation whose premises did not survive, dropped.
func apply(img *Image, o *op) error {
	n := img.inodes[o.ino]
	if n == nil {
		return errPrecondition
	}
	dirOf := func(ino uint64) *inode {
		d := img.inodes[ino]
		if d == nil || !d.isDir() {
			return nil
		}
		return d
	}
	switch o.kind {
	case opWrite:
		n.writeAt(o.off, o.data)
		n.mtime = o.time
	case opTrunc:
		n.truncate(o.size)
		n.mtime = o.time
	case opAttr:
		a := o.attr
		if a.mode != nil {
			n.mode = n.mode&syscall.S_IFMT | *a.mode&^syscall.S_IFMT
		}
		if a.uid != nil {
			n.uid = *a.uid
		}
		if a.gid != nil {
			n.gid = *a.gid
		}
		if a.atime != nil {
			n.atime = *a.atime
		}
		if a.mtime != nil {
			n.mtime = *a.mtime
		}
	case opCreate, opLink:
		d := dirOf(o.dir)
		if d == nil {
			return errPrecondition
		}
		if _, taken := d.ents[o.name]; taken {
			return errPrecondition
		}
		d.ents[o.name] = o.ino
		n.nlink++
		if n.isDir() {
			d.nlink++
		}
		d.mtime = o.time
	case opUnlink:
		d := dirOf(o.dir)
		if d == nil || d.ents[o.name] != o.ino {
			return errPrecondition
		}
		if n.isDir() && len(n.ents) > 0 {
			return errPrecondition
		}
		delete(d.ents, o.name)
		n.nlink--
		if n.isDir() {
			d.nlink--
			n.nlink = 0
		}
		d.mtime = o.time
	case opRename:
		src, dst := dirOf(o.dir), dirOf(o.dir2)
		if src == nil || dst == nil || src.ents[o.name] != o.ino {
			return errPrecondition
		}
		if o.dir == o.dir2 && o.name == o.name2 {
			return nil
		}
		if victim, taken := dst.ents[o.name2]; taken {
			v := img.inodes[victim]
			if o.noReplace || v == nil || v.isDir() != n.isDir() || v.isDir() && len(v.ents) > 0 {
				return errPrecondition
			}
			v.nlink--
			if v.isDir() {
				v.nlink = 0
				dst.nlink--
			}
		}
		delete(src.ents, o.name)
		dst.ents[o.name2] = o.ino
		if n.isDir() {
			src.nlink--
			dst.nlink++
		}
		src.mtime, dst.mtime = o.time, o.time
	}
	return nil
}
