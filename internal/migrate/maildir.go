package migrate

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"goqmail/internal/dirsync"
)

// copyStats counts the messages of one mailbox.
type copyStats struct {
	copied  int // copied now
	present int // already in the new mailbox (an earlier run)
}

func (s copyStats) String() string {
	out := plural(s.copied, "message") + " copied"
	if s.present > 0 {
		out += fmt.Sprintf(", %d already there", s.present)
	}
	return out
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// copyMaildir copies the Maildir src (and its Maildir++ folders) into
// dst, never linking: the old tree may still be receiving mail. Message
// file names are kept, flags and all (maildir(5): the part after ':' is
// the info, the part before it the unique name), and so are their
// modification times, which IMAP servers show as the arrival date. Each
// message is written under tmp/ and renamed into new/ or cur/, so a
// server already reading the new mailbox never sees half a message.
//
// A message whose unique name is already in the new folder (in new/ or
// in cur/, whatever its flags there) is not copied again: a second run
// brings over only what arrived since, and a message the user has read
// on the new server in between is not duplicated. Other files at a
// folder's root (maildirsize, subscriptions, dovecot-uidlist and the
// like) are copied when the new mailbox has none. tmp/ holds deliveries
// in progress and is not copied.
func (r *run) copyMaildir(src, dst string) (copyStats, error) {
	var st copyStats
	err := r.copyFolder(src, dst, &st)
	return st, err
}

func (r *run) copyFolder(src, dst string, st *copyStats) error {
	ents, err := os.ReadDir(src)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("copy mailbox: %w", err)
	}
	if err := r.mkdir(dst, 0o700); err != nil {
		return err
	}
	folder := hasDir(src, "new") || hasDir(src, "cur")
	var seen map[string]bool
	for _, e := range ents {
		name := e.Name()
		sp, dp := filepath.Join(src, name), filepath.Join(dst, name)
		switch {
		case !e.IsDir() && !e.Type().IsRegular():
			r.notCarried("%s: not a regular file or directory, not copied", sp)
		case e.IsDir() && folder && name == "tmp":
			if err := r.mkdir(dp, 0o700); err != nil {
				return err
			}
		case e.IsDir() && folder && (name == "new" || name == "cur"):
			if seen == nil {
				if seen, err = uniqueNames(dst); err != nil {
					return err
				}
			}
			if err := r.copyMessages(sp, dst, name, seen, st); err != nil {
				return err
			}
		case e.IsDir():
			if err := r.copyFolder(sp, dp, st); err != nil {
				return err
			}
		default:
			if _, err := os.Lstat(dp); err == nil {
				continue
			}
			if !r.opt.DryRun {
				if err := r.copyFile(sp, filepath.Join(dst, ".import-"+name), dp); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func hasDir(parent, name string) bool {
	fi, err := os.Stat(filepath.Join(parent, name))
	return err == nil && fi.IsDir()
}

// uniqueName is a Maildir message's name without its info (":2,FS").
func uniqueName(name string) string {
	u, _, _ := strings.Cut(name, ":")
	return u
}

// uniqueNames lists the messages already in a folder of the new mailbox.
func uniqueNames(folder string) (map[string]bool, error) {
	seen := map[string]bool{}
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(folder, sub))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("copy mailbox: %w", err)
		}
		for _, e := range ents {
			seen[uniqueName(e.Name())] = true
		}
	}
	return seen, nil
}

// copyMessages copies the messages of src (a new/ or cur/ directory) into
// dstFolder/sub through dstFolder/tmp.
func (r *run) copyMessages(src, dstFolder, sub string, seen map[string]bool, st *copyStats) error {
	ents, err := os.ReadDir(src)
	if err != nil {
		return fmt.Errorf("copy mailbox: %w", err)
	}
	tmp, dst := filepath.Join(dstFolder, "tmp"), filepath.Join(dstFolder, sub)
	for _, d := range []string{tmp, dst} {
		if err := r.mkdir(d, 0o700); err != nil {
			return err
		}
	}
	copied := false
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		name := e.Name()
		if u := uniqueName(name); seen[u] {
			st.present++
			r.tally.present++
			continue
		} else {
			seen[u] = true
		}
		st.copied++
		r.messageCopied(dstFolder)
		if r.opt.DryRun {
			continue
		}
		if err := r.copyFile(filepath.Join(src, name), filepath.Join(tmp, name), filepath.Join(dst, name)); err != nil {
			return err
		}
		copied = true
	}
	if copied {
		if err := dirsync.Dir(dst); err != nil {
			return fmt.Errorf("copy mailbox: %w", err)
		}
	}
	return nil
}

// copyFile copies src to tmp, with src's owner permission bits (the
// mailbox belongs to one account; group and other bits would only
// widen what a stray chmod once allowed), modification time and the
// import's owner, makes it durable, and renames it to final.
func (r *run) copyFile(src, tmp, final string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copy mailbox: %w", err)
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return fmt.Errorf("copy mailbox: %w", err)
	}
	os.Remove(tmp) // left by an interrupted run: ours, and incomplete
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm()&0o600)
	if err != nil {
		return fmt.Errorf("copy mailbox: %w", err)
	}
	defer func() {
		if err != nil {
			out.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = io.Copy(out, in); err != nil {
		return fmt.Errorf("copy mailbox: %s: %w", src, err)
	}
	if r.opt.Owner != nil {
		if err = out.Chown(r.opt.Owner.UID, r.opt.Owner.GID); err != nil {
			return fmt.Errorf("copy mailbox: %w", err)
		}
	}
	if err = out.Sync(); err != nil {
		return fmt.Errorf("copy mailbox: %w", err)
	}
	if err = out.Close(); err != nil {
		return fmt.Errorf("copy mailbox: %w", err)
	}
	if err = os.Chtimes(tmp, fi.ModTime(), fi.ModTime()); err != nil {
		return fmt.Errorf("copy mailbox: %w", err)
	}
	if err = os.Rename(tmp, final); err != nil {
		return fmt.Errorf("copy mailbox: %w", err)
	}
	return nil
}

// mkdir makes a directory of ROOT/vmail (not in a dry run), owned by the
// import's owner; an existing one is left as it is.
func (r *run) mkdir(path string, perm os.FileMode) error {
	if r.opt.DryRun {
		return nil
	}
	err := os.Mkdir(path, perm)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	if r.opt.Owner != nil {
		if err := os.Chown(path, r.opt.Owner.UID, r.opt.Owner.GID); err != nil {
			return fmt.Errorf("import: %w", err)
		}
	}
	return nil
}
