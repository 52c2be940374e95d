package mailstore

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A dirStamp names one state of a new/ or cur/ directory: every message
// that arrives, leaves or changes its flags creates, removes or renames
// a name there, which sets the directory's mtime and ctime to the time of
// the change. The index file (indexfile.go) records the stamps of the
// directories whose names it lists, so that a new session that finds the
// same stamps can take the names from the index instead of reading
// 100,000 of them. The mtime alone could be set back (utimes, a restore
// with rsync -a); the ctime cannot be set from user space and the inode
// tells a directory made again, so all three must match.
type dirStamp struct {
	mtime, ctime int64 // Unix nanoseconds
	ino          uint64
}

// statDir returns the stamp of dir and its mtime.
func statDir(dir string) (dirStamp, time.Time, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return dirStamp{}, time.Time{}, err
	}
	st := dirStamp{mtime: fi.ModTime().UnixNano()}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.ctime, st.ino = sys.Ctim.Nano(), sys.Ino
	}
	return st, fi.ModTime(), nil
}

// stampsLine is the index header's description of new/ and cur/: both
// stamps, or "- -" when the listing may not stand in for the
// directories (they were not stable when it was read).
func stampsLine(newSt, curSt dirStamp, trusted bool) string {
	if !trusted || newSt.ctime == 0 || curSt.ctime == 0 {
		return "- -"
	}
	return newSt.String() + " " + curSt.String()
}

func (d dirStamp) String() string {
	return strconv.FormatInt(d.mtime, 10) + ":" + strconv.FormatInt(d.ctime, 10) + ":" + strconv.FormatUint(d.ino, 10)
}

// checkStampsLine accepts what stampsLine writes.
func checkStampsLine(s string) error {
	if s == "- -" {
		return nil
	}
	parts := strings.Split(s, " ")
	if len(parts) != 2 {
		return fmt.Errorf("stamps %q", s)
	}
	for _, p := range parts {
		f := strings.Split(p, ":")
		if len(f) != 3 {
			return fmt.Errorf("stamp %q", p)
		}
		for _, n := range f {
			if _, err := strconv.ParseUint(n, 10, 64); err != nil {
				return fmt.Errorf("stamp %q: %w", p, err)
			}
		}
	}
	return nil
}

// nameID returns the id of a message file name read from an index, or ""
// unless it is a plain name in new/ or cur/ whose id checkID accepts (a
// listing taken from the index builds paths from it). One pass: it runs
// for each of 100,000 lines.
func nameID(name string) string {
	if name == "" || name[0] == '.' || len(name) > 255 {
		return ""
	}
	id := name
	for i := 0; i < len(name); i++ {
		switch name[i] {
		case '/', '\\', 0:
			return ""
		case ':':
			if id == name {
				if !strings.HasPrefix(name[i:], ":2,") {
					return "" // a colon in the id
				}
				id = name[:i]
			}
		}
	}
	return id
}
