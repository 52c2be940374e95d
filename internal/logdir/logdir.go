// Package logdir is a log directory rotated the way daemontools' multilog
// rotates one: lines are appended to `current`; before `current` would grow
// past a size it is finished and renamed to a file named by the time,
// `@20260126T010203.123456Z.s`, a new `current` is started, and only the
// newest Keep finished files stay.
//
// Finishing is multilog's sequence, with the directory fsync multilog never
// did: fsync `current`, set its owner-execute bit (the mark of a finished
// file), rename it, create the new `current`, fsync the directory. A crash
// at any point leaves either a `current` without the mark (appending goes
// on), or one with the mark, which Open finishes first. Lines are never
// split between files, and nothing before a rotation is lost to a power
// failure after it. Lines in `current` reach the disk when the kernel writes
// them back, at the latest at the next rotation or Close (multilog's
// promise too).
package logdir

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

const (
	// Current is the file being written.
	Current = "current"
	// fileMode is current's mode; finishedMode marks a finished file
	// (multilog uses 0644 and 0744; log lines name mail addresses, so
	// only the log account and its group read them).
	fileMode     = 0o640
	finishedMode = 0o740
	stampLayout  = "20060102T150405.000000Z"
)

// Dir is an open log directory. It is not safe for concurrent use: one
// process, goqmail-log, writes a directory.
type Dir struct {
	path string
	size int64
	keep int
	now  func() time.Time
	cur  *os.File
	n    int64 // bytes in current
}

// Open opens the log directory path (which must exist), finishing a
// `current` a crash left marked, and appends to `current` from then on.
func Open(path string, size int64, keep int) (*Dir, error) {
	d := &Dir{path: path, now: time.Now}
	d.SetLimits(size, keep)
	if err := d.openCurrent(); err != nil {
		return nil, err
	}
	return d, d.prune()
}

// SetLimits changes the size and the number of finished files kept (on
// SIGHUP); the next write or rotation applies them.
func (d *Dir) SetLimits(size int64, keep int) {
	d.size, d.keep = max(size, 1), max(keep, 1)
}

// openCurrent finishes a marked current (a crash after the mark, before
// the rename), then opens current for appending.
func (d *Dir) openCurrent() error {
	cur := filepath.Join(d.path, Current)
	st, err := os.Stat(cur)
	switch {
	case err == nil && st.Mode().Perm()&0o100 != 0:
		if err := d.rename(); err != nil {
			return err
		}
		if err := syncDir(d.path); err != nil {
			return err
		}
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return err
	}
	f, err := os.OpenFile(cur, os.O_WRONLY|os.O_APPEND|os.O_CREATE, fileMode)
	if err != nil {
		return err
	}
	st, err = f.Stat()
	if err == nil {
		err = f.Chmod(fileMode) // whatever the umask made of it
	}
	if err != nil {
		f.Close()
		return err
	}
	d.cur, d.n = f, st.Size()
	return nil
}

// Write appends p, which holds whole lines, and returns how many bytes of
// it are in the directory. Lines are not split: a rotation comes before a
// line that would not fit, and a line longer than the size alone gets a
// file of its own. After an error the caller may write p[n:] again.
func (d *Dir) Write(p []byte) (int, error) {
	done := 0
	for len(p) > done {
		if d.cur == nil {
			if err := d.openCurrent(); err != nil {
				return done, err
			}
		}
		rest := p[done:]
		chunk := rest
		if room := d.size - d.n; int64(len(rest)) > room {
			i := -1
			if room > 0 {
				i = bytes.LastIndexByte(rest[:room], '\n')
			}
			switch {
			case i >= 0:
				chunk = rest[:i+1]
			case d.n > 0:
				if err := d.Rotate(); err != nil {
					return done, err
				}
				continue
			default: // one line longer than the size: whole, alone
				if j := bytes.IndexByte(rest, '\n'); j >= 0 {
					chunk = rest[:j+1]
				}
			}
		}
		n, err := d.cur.Write(chunk)
		d.n += int64(n)
		done += n
		if err != nil {
			return done, fmt.Errorf("write %s: %w", filepath.Join(d.path, Current), err)
		}
	}
	return done, nil
}

// Rotate finishes current (fsync, mark, rename, new current, fsync of the
// directory) and removes the finished files beyond Keep. An empty current
// is left as it is.
func (d *Dir) Rotate() error {
	if d.cur != nil {
		if d.n == 0 {
			return nil
		}
		if err := d.cur.Sync(); err != nil {
			return fmt.Errorf("fsync %s: %w", filepath.Join(d.path, Current), err)
		}
		if err := d.cur.Chmod(finishedMode); err != nil {
			return err
		}
		d.cur.Close()
		d.cur = nil
	}
	// openCurrent renames the marked current, makes the new one and
	// fsyncs the directory; after a failure it is where a retry resumes.
	if err := d.openCurrent(); err != nil {
		return err
	}
	if err := syncDir(d.path); err != nil {
		return err
	}
	return d.prune()
}

// rename gives the marked current its finished name, the time of the
// rotation, unique in the directory.
func (d *Dir) rename() error {
	t := d.now().UTC()
	for {
		name := filepath.Join(d.path, "@"+t.Format(stampLayout)+".s")
		if _, err := os.Lstat(name); errors.Is(err, fs.ErrNotExist) {
			return os.Rename(filepath.Join(d.path, Current), name)
		}
		t = t.Add(time.Microsecond)
	}
}

// prune removes the oldest finished files beyond Keep.
func (d *Dir) prune() error {
	old, err := Finished(d.path)
	if err != nil {
		return err
	}
	for len(old) > d.keep {
		if err := os.Remove(old[0]); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		old = old[1:]
	}
	return nil
}

// Sync makes what was written to current durable.
func (d *Dir) Sync() error {
	if d.cur == nil {
		return nil
	}
	return d.cur.Sync()
}

// Close syncs and closes current.
func (d *Dir) Close() error {
	if d.cur == nil {
		return nil
	}
	err := d.cur.Sync()
	if cerr := d.cur.Close(); err == nil {
		err = cerr
	}
	d.cur = nil
	return err
}

// Finished lists the finished files of a log directory, oldest first
// (their names sort by time).
func Finished(path string) ([]string, error) {
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if n := e.Name(); strings.HasPrefix(n, "@") && strings.HasSuffix(n, ".s") {
			out = append(out, filepath.Join(path, n))
		}
	}
	sort.Strings(out)
	return out, nil
}

// Files lists every file of a log directory in the order its lines were
// written: the finished files, oldest first, then current.
func Files(path string) ([]string, error) {
	out, err := Finished(path)
	if err != nil {
		return nil, err
	}
	cur := filepath.Join(path, Current)
	if _, err := os.Stat(cur); err == nil {
		out = append(out, cur)
	}
	return out, nil
}

func syncDir(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", path, err)
	}
	return nil
}
