package quota

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// rebuildAttempts bounds how often a rebuild is repeated when the Maildir
// changed while it was being counted.
const rebuildAttempts = 3

// dirStamp is a directory's modification time as the scan saw it, to learn
// afterwards whether something was added or removed meanwhile.
type dirStamp struct {
	path   string
	mtime  time.Time
	exists bool
}

// recalculate counts the Maildir at root and replaces its maildirsize with
// the definition lim and the new totals [Maildir++ "Calculating
// maildirsize"]. It returns the totals even when the file could not be
// kept, as the specification asks ("return the calculated values ... even
// if maildirsize was removed").
//
// If the Maildir changed during the count (a directory's mtime moved),
// the count is repeated, up to rebuildAttempts times; the last file is kept
// either way. Courier repeats too; removing the file instead would make
// every concurrent delivery rescan. What remains is the race the
// specification accepts: totals a little off until the next rebuild.
func recalculate(root string, lim Limits) (Usage, error) { return recount(root, lim, false) }

// recount is recalculate; keepSame leaves a maildirsize that already says
// exactly the new totals unwritten (Recount: a second import changes
// nothing on disk).
func recount(root string, lim Limits, keepSame bool) (Usage, error) {
	path := filepath.Join(root, fileName)
	for attempt := 1; ; attempt++ {
		u, stamps, err := count(root)
		if err != nil {
			return Usage{}, err
		}
		write := true
		if keepSame {
			old, err := os.ReadFile(path)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return Usage{}, fmt.Errorf("quota: read %s: %w", path, err)
			}
			write = err != nil || string(old) != string(formatFile(lim, u))
		}
		if write {
			if err := writeFile(root, lim, u); err != nil {
				return Usage{}, err
			}
		}
		moved, err := changedSince(stamps)
		if err != nil {
			return Usage{}, err
		}
		if !moved || attempt == rebuildAttempts {
			return u, nil
		}
	}
}

// count adds up the messages in new/ and cur/ of the Maildir and of each
// Maildir++ folder (a subdirectory whose name starts with '.').
//
// Sizes come from the ",S=<size>" in a file name when present, else from
// lstat [Maildir++ "Calculating maildirsize" step 3]; a file that vanishes
// before it is looked at is skipped. Names starting with '.' are not
// messages (Courier's docount). Symbolic links to folders are not followed
// (Courier skips DT_LNK).
//
// Unlike Courier, which by default leaves out .Trash and messages flagged
// T, every folder and message counts: that is what Dovecot's maildir
// backend counts ([dovecot] maildirsize_recalculate walks every mailbox),
// and the totals must not jump back and forth depending on whether goqmail
// or Dovecot rebuilt the file last.
func count(root string) (Usage, []dirStamp, error) {
	var u Usage
	var stamps []dirStamp
	maildirs := []string{root}
	entries, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return u, nil, nil // no Maildir yet: empty
	}
	if err != nil {
		return u, nil, fmt.Errorf("quota: count %s: %w", root, err)
	}
	for _, e := range entries {
		if name := e.Name(); strings.HasPrefix(name, ".") && name != "." && name != ".." && e.IsDir() {
			maildirs = append(maildirs, filepath.Join(root, name))
		}
	}
	for _, md := range maildirs {
		for _, sub := range []string{"new", "cur"} {
			dir := filepath.Join(md, sub)
			st, err := stampOf(dir)
			if err != nil {
				return u, nil, err
			}
			stamps = append(stamps, st)
			if !st.exists {
				continue
			}
			if err := countDir(dir, &u); err != nil {
				return u, nil, err
			}
		}
	}
	return u, stamps, nil
}

// countDir adds the messages of one new/ or cur/ directory to u, reading
// the directory in batches so a huge one is never held in memory at once.
func countDir(dir string, u *Usage) error {
	f, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("quota: count %s: %w", dir, err)
	}
	defer f.Close()
	for {
		batch, err := f.ReadDir(1024)
		for _, e := range batch {
			if strings.HasPrefix(e.Name(), ".") || e.IsDir() {
				continue
			}
			size, ok := sizeFromName(e.Name())
			if !ok {
				info, err := e.Info()
				if errors.Is(err, fs.ErrNotExist) {
					continue // expunged while we looked
				}
				if err != nil {
					return fmt.Errorf("quota: count %s: %w", dir, err)
				}
				size = info.Size()
			}
			u.Bytes = addSaturating(u.Bytes, size)
			u.Messages = addSaturating(u.Messages, 1)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("quota: count %s: %w", dir, err)
		}
	}
}

// sizeFromName finds the Maildir++ size in a message's file name: the
// digits after the first ",S=", which must end the name or be followed by
// ':' (the info part) or ',' (another field such as ",W="). This is
// Dovecot's reading ([dovecot] maildir_sum_dir); Courier's spec names the
// forms "xxxxx,S=nnnnn" and "xxxxx,S=nnnnn:xxxxx". Anything else, or a
// number too large for int64, falls back to stat.
func sizeFromName(name string) (int64, bool) {
	i := strings.Index(name, ",S=")
	if i < 0 {
		return 0, false
	}
	rest := name[i+3:]
	end := strings.IndexAny(rest, ":,")
	if end < 0 {
		end = len(rest)
	}
	n, sat, ok := parseDigits(rest[:end])
	if !ok || sat {
		return 0, false
	}
	return n, true
}

// stampOf records a directory's mtime, or that it does not exist.
func stampOf(dir string) (dirStamp, error) {
	info, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return dirStamp{path: dir}, nil
	}
	if err != nil {
		return dirStamp{}, fmt.Errorf("quota: stat %s: %w", dir, err)
	}
	return dirStamp{path: dir, mtime: info.ModTime(), exists: true}, nil
}

// changedSince reports whether any directory counted has appeared,
// disappeared or changed its mtime since its stamp was taken: "stat all
// new and cur subdirectories again. If you find a timestamp later than the
// saved timestamp ... repeat the recalculation" [Maildir++]. Courier
// compares whole seconds; we compare the full mtime, which catches more.
func changedSince(stamps []dirStamp) (bool, error) {
	for _, old := range stamps {
		now, err := stampOf(old.path)
		if err != nil {
			return false, err
		}
		if now.exists != old.exists || !now.mtime.Equal(old.mtime) {
			return true, nil
		}
	}
	return false, nil
}

// writeFile atomically replaces root/maildirsize: a temporary file in the
// Maildir's tmp/, "observing the conventions for writing to a Maildir",
// renamed into place [Maildir++ step 4], so a reader sees the old file or
// the new one. A leftover temporary file is cleaned like any stale file in
// tmp/. The file is fsynced before the rename so a crash cannot leave an
// empty maildirsize; the directory is not, since a lost rename only means
// another rebuild. Mode 0600 is Dovecot's default for it.
//
// A Maildir without tmp/ (not created yet) gets no file: the next Check,
// after the first delivery made the Maildir, writes it.
func writeFile(root string, lim Limits, u Usage) error {
	f, err := os.CreateTemp(filepath.Join(root, "tmp"), "maildirsize.*")
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("quota: write %s: %w", filepath.Join(root, fileName), err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("quota: write %s: %w", filepath.Join(root, fileName), err)
	}
	if _, err := f.Write(formatFile(lim, u)); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("quota: write %s: %w", filepath.Join(root, fileName), err)
	}
	if err := os.Rename(tmp, filepath.Join(root, fileName)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("quota: write %s: %w", filepath.Join(root, fileName), err)
	}
	return nil
}
