package migrate

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"goqmail/internal/quota"
)

// Progress reports: an import of a large site runs for a long time, and
// the action lines go to Out, which is often a file. Counts, not clocks,
// decide when a line is due, so the output is the same on every run.
const (
	progressUsers    = 100  // a line every this many users
	progressMessages = 1000 // and every this many messages copied
)

// tally counts what the import did, for the progress lines and the
// summary at the end.
type tally struct {
	domains, users, usersTotal int
	copied, present            int
}

func (r *run) progressf(format string, args ...any) {
	if r.opt.Progress != nil {
		fmt.Fprintf(r.opt.Progress, "import: "+format+"\n", args...)
	}
}

// userDone counts one user and reports every progressUsers.
func (r *run) userDone() {
	r.tally.users++
	if r.tally.users%progressUsers == 0 {
		r.progressf("%d of %d users, %s", r.tally.users, r.tally.usersTotal, plural(r.tally.copied, "message")+" copied")
	}
}

// messageCopied counts one message and reports every progressMessages.
func (r *run) messageCopied(mailbox string) {
	r.tally.copied++
	if r.tally.copied%progressMessages == 0 {
		r.progressf("%d messages copied (now in %s)", r.tally.copied, mailbox)
	}
}

// summary is the last line of the report.
func (r *run) summary() string {
	t := r.tally
	return fmt.Sprintf("summary: %s, %s, %s copied (%d already there), %d not carried over",
		plural(t.domains, "domain"), plural(t.users, "user"), plural(t.copied, "message"), t.present, len(r.rep.Problems))
}

// recountQuota makes the maildirsize of an imported mailbox describe it.
// The import put messages there that no delivery counted, and a
// maildirsize copied from the old tree (or left by an earlier run) counts
// another mailbox: trusted as it is, it let a user far over quota go on
// receiving mail (issue 10, item 6). Courier and Dovecot recount a stale
// file; so does the import, with the user's limits in the directory, for
// every mailbox that has the file or a limit. It returns a note for the
// user's line when the mailbox is over its quota.
//
// A recount that fails removes the file instead, so the next delivery
// counts; only when even that fails does the import stop.
func (r *run) recountQuota(addr, maildir string, lim quota.Limits) (string, error) {
	path := filepath.Join(maildir, quota.FileName)
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) && lim.Unlimited() {
		return "", nil
	}
	u, err := quota.Recount(maildir, lim)
	if err != nil {
		if rerr := os.Remove(path); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			return "", fmt.Errorf("import %s: %w (and removing %s failed: %v)", addr, err, path, rerr)
		}
		r.notCarried("%s: %s could not be recounted (%v); removed, so the next delivery counts the mailbox", addr, path, err)
		return "", nil
	}
	if r.opt.Owner != nil {
		if err := os.Lchown(path, r.opt.Owner.UID, r.opt.Owner.GID); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("import %s: %w", addr, err)
		}
	}
	if (lim.Bytes > 0 && u.Bytes > lim.Bytes) || (lim.Messages > 0 && u.Messages > lim.Messages) {
		return fmt.Sprintf("over its quota: %d bytes in %s", u.Bytes, plural(int(u.Messages), "message")), nil
	}
	return "", nil
}
