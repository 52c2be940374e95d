package crashfs

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// rootIno is the root directory's inode number in every image: FUSE's
// FUSE_ROOT_ID, so an image can be mounted without a translation table.
const rootIno = 1

// inode is one file, directory or symbolic link of an image.
type inode struct {
	mode     uint32 // S_IFMT bits and permissions
	uid, gid uint32
	nlink    uint32 // names that point at it (directories: 2 + subdirectories)
	data     []byte // regular file content
	// shared marks data as also referenced by another image (Clone): it
	// is copied before the first write, so images never alias each other.
	shared bool
	target string            // symbolic link
	ents   map[string]uint64 // directory entries
	mtime  int64             // unix nanoseconds; ctime follows it
	atime  int64
}

func (n *inode) isDir() bool  { return n.mode&syscall.S_IFMT == syscall.S_IFDIR }
func (n *inode) isReg() bool  { return n.mode&syscall.S_IFMT == syscall.S_IFREG }
func (n *inode) isLink() bool { return n.mode&syscall.S_IFMT == syscall.S_IFLNK }

// own makes n's data private to this image before a write.
func (n *inode) own() {
	if n.shared {
		n.data = append([]byte(nil), n.data...)
		n.shared = false
	}
}

// writeAt writes p at off, growing the file with zeros as pwrite(2) does.
func (n *inode) writeAt(off int64, p []byte) {
	n.own()
	if end := off + int64(len(p)); end > int64(len(n.data)) {
		if end <= int64(cap(n.data)) {
			n.data = n.data[:end]
		} else {
			grown := make([]byte, end, end+end/4)
			copy(grown, n.data)
			n.data = grown
		}
	}
	copy(n.data[off:], p)
}

// truncate sets the size as ftruncate(2) does: new bytes read as zeros.
func (n *inode) truncate(size int64) {
	n.own()
	if size <= int64(len(n.data)) {
		n.data = n.data[:size]
		return
	}
	old := len(n.data)
	n.writeAt(size-1, []byte{0})
	clear(n.data[old:])
}

func (n *inode) clone() *inode {
	c := *n
	if n.ents != nil {
		c.ents = make(map[string]uint64, len(n.ents))
		for k, v := range n.ents {
			c.ents[k] = v
		}
	}
	if len(n.data) > 0 {
		n.shared, c.shared = true, true
	}
	return &c
}

// Image is a whole file system: the state a mount starts from, the state a
// power cut leaves, or the durable state the model keeps.
type Image struct {
	inodes map[uint64]*inode
	// next is the next inode number to hand out. Numbers are never reused
	// within a campaign, so a FUSE node id names one file for good.
	next uint64
}

// NewImage returns an image holding an empty root directory (mode 0755,
// owned by root).
func NewImage() *Image {
	img := &Image{inodes: map[uint64]*inode{}, next: rootIno + 1}
	img.inodes[rootIno] = &inode{mode: syscall.S_IFDIR | 0o755, nlink: 2, ents: map[string]uint64{}, mtime: time.Now().UnixNano()}
	return img
}

// Clone returns an independent copy; file contents are shared until
// either side writes.
func (img *Image) Clone() *Image {
	c := &Image{inodes: make(map[uint64]*inode, len(img.inodes)), next: img.next}
	for ino, n := range img.inodes {
		c.inodes[ino] = n.clone()
	}
	return c
}

// AddDir copies the tree at src (directories, regular files, symbolic
// links, with modes and owners) into the image as the directory name
// under the root. The harness uses it to put the directories `goqmail
// init` made (queue/, home/) on the file system under test.
func (img *Image) AddDir(name, src string) error {
	if name == "" || strings.Contains(name, "/") {
		return fmt.Errorf("crashfs: AddDir: %q is not a single name", name)
	}
	root := img.inodes[rootIno]
	if _, ok := root.ents[name]; ok {
		return fmt.Errorf("crashfs: AddDir: %s already exists", name)
	}
	ino, err := img.copyIn(src)
	if err != nil {
		return err
	}
	root.ents[name] = ino
	if img.inodes[ino].isDir() {
		root.nlink++
	}
	return nil
}

func (img *Image) copyIn(path string) (uint64, error) {
	st, err := os.Lstat(path)
	if err != nil {
		return 0, fmt.Errorf("crashfs: %w", err)
	}
	sys := st.Sys().(*syscall.Stat_t)
	n := &inode{mode: sys.Mode, uid: sys.Uid, gid: sys.Gid, nlink: 1, mtime: st.ModTime().UnixNano(), atime: st.ModTime().UnixNano()}
	ino := img.next
	img.next++
	img.inodes[ino] = n
	switch {
	case st.Mode().IsRegular():
		if n.data, err = os.ReadFile(path); err != nil {
			return 0, fmt.Errorf("crashfs: %w", err)
		}
	case st.Mode()&fs.ModeSymlink != 0:
		if n.target, err = os.Readlink(path); err != nil {
			return 0, fmt.Errorf("crashfs: %w", err)
		}
	case st.IsDir():
		n.ents, n.nlink = map[string]uint64{}, 2
		ents, err := os.ReadDir(path)
		if err != nil {
			return 0, fmt.Errorf("crashfs: %w", err)
		}
		for _, e := range ents {
			c, err := img.copyIn(filepath.Join(path, e.Name()))
			if err != nil {
				return 0, err
			}
			n.ents[e.Name()] = c
			if img.inodes[c].isDir() {
				n.nlink++
			}
		}
	default:
		return 0, fmt.Errorf("crashfs: %s: only directories, files and symbolic links can be copied in", path)
	}
	return ino, nil
}

// lookupPath finds an inode by slash-separated path from the root.
func (img *Image) lookupPath(path string) (*inode, bool) {
	n := img.inodes[rootIno]
	for _, part := range strings.Split(strings.Trim(path, "/"), "/") {
		if part == "" {
			continue
		}
		if !n.isDir() {
			return nil, false
		}
		ino, ok := n.ents[part]
		if !ok {
			return nil, false
		}
		n = img.inodes[ino]
	}
	return n, n != nil
}

// ReadFile returns a copy of a regular file's content by path ("queue/msg/x").
func (img *Image) ReadFile(path string) ([]byte, error) {
	n, ok := img.lookupPath(path)
	if !ok {
		return nil, fmt.Errorf("crashfs: %s: %w", path, fs.ErrNotExist)
	}
	if !n.isReg() {
		return nil, fmt.Errorf("crashfs: %s is not a regular file", path)
	}
	return append([]byte(nil), n.data...), nil
}

// ReadDir returns the sorted names in a directory, by path.
func (img *Image) ReadDir(path string) ([]string, error) {
	n, ok := img.lookupPath(path)
	if !ok {
		return nil, fmt.Errorf("crashfs: %s: %w", path, fs.ErrNotExist)
	}
	if !n.isDir() {
		return nil, fmt.Errorf("crashfs: %s is not a directory", path)
	}
	names := make([]string, 0, len(n.ents))
	for name := range n.ents {
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}

// Files lists every regular file in the image as path -> content (copies):
// for tests that compare whole images.
func (img *Image) Files() map[string]string {
	out := map[string]string{}
	var walk func(prefix string, n *inode)
	walk = func(prefix string, n *inode) {
		for name, ino := range n.ents {
			c := img.inodes[ino]
			switch {
			case c.isDir():
				walk(prefix+name+"/", c)
			case c.isReg():
				out[prefix+name] = string(c.data)
			case c.isLink():
				out[prefix+name] = "-> " + c.target
			}
		}
	}
	walk("", img.inodes[rootIno])
	return out
}

// collect drops every inode that no name reaches from the root (what fsck
// would move to lost+found: goqmail never looks there) and recounts links.
func (img *Image) collect() {
	seen := map[uint64]uint32{rootIno: 0}
	var walk func(n *inode)
	walk = func(n *inode) {
		for _, ino := range n.ents {
			c := img.inodes[ino]
			if c == nil {
				continue
			}
			seen[ino]++
			if c.isDir() && seen[ino] == 1 {
				walk(c)
			}
		}
	}
	walk(img.inodes[rootIno])
	for ino, n := range img.inodes {
		links, ok := seen[ino]
		if !ok {
			delete(img.inodes, ino)
			continue
		}
		n.nlink = links
		if n.isDir() {
			n.nlink = 2
			for _, c := range n.ents {
				if cn := img.inodes[c]; cn != nil && cn.isDir() {
					n.nlink++
				}
			}
		}
	}
	// An entry whose inode is gone (never: entries are only made for
	// inodes the image holds) would be a model bug; drop it rather than
	// serve a dangling name.
	for _, n := range img.inodes {
		for name, ino := range n.ents {
			if img.inodes[ino] == nil {
				delete(n.ents, name)
			}
		}
	}
}
