package vdir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"goqmail/internal/dirsync"
)

// mkdirOwned makes one directory 0700 owned by the virtual uid (when
// root; otherwise the running user is the virtual user) and reports
// whether it made it. An existing directory is left as it is: import may
// have put a Maildir there.
func (f *Files) mkdirOwned(path string) (bool, error) {
	err := os.Mkdir(path, 0o700)
	if errors.Is(err, fs.ErrExist) {
		fi, serr := os.Stat(path)
		if serr != nil {
			return false, serr
		}
		if !fi.IsDir() {
			return false, fmt.Errorf("%s exists and is not a directory", path)
		}
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if isRoot() {
		if err := os.Lchown(path, f.vuid, f.vgid); err != nil {
			return true, err
		}
	}
	return true, nil
}

// makeDomainMailDir makes ROOT/vmail/<domain>, where the domain's users'
// homes and its .qmail-<local> / .qmail-default files live. It is 0711:
// the SMTP server (another account) may look for a .qmail-<local> file by
// name to answer RCPT TO (internal/rcptcheck), but not list the directory;
// the mailboxes below it stay 0700.
func (f *Files) makeDomainMailDir(domain string) (bool, error) {
	if err := os.MkdirAll(f.vmail, 0o755); err != nil {
		return false, err
	}
	dir := filepath.Join(f.vmail, domain)
	made, err := f.mkdirOwned(dir)
	if err != nil {
		return made, err
	}
	return made, os.Chmod(dir, 0o711)
}

// makeMaildir makes <vmail>/<domain>/<local>/Maildir/{tmp,new,cur}.
func (f *Files) makeMaildir(local, domain string) error {
	if _, err := f.makeDomainMailDir(domain); err != nil {
		return err
	}
	home := f.MailboxHome(local, domain)
	md := filepath.Join(home, "Maildir")
	for _, p := range []string{home, md, filepath.Join(md, "tmp"), filepath.Join(md, "new"), filepath.Join(md, "cur")} {
		if _, err := f.mkdirOwned(p); err != nil {
			return fmt.Errorf("make mailbox: %w", err)
		}
	}
	return dirsync.Dir(filepath.Dir(home))
}

// moveAside renames path (if it exists) to parent/.deleted-<name>-<time>:
// deleted mailboxes are kept for the administrator, out of the way of a
// new user or domain of the same name.
func (f *Files) moveAside(path, parent, name string) error {
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	to := aside(parent, name)
	if err := os.Rename(path, to); err != nil {
		return fmt.Errorf("%s is deleted, but its mailbox %s could not be moved aside: %w", name, path, err)
	}
	return dirsync.Dir(parent)
}
