package mailstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The Maildir++ quota file (internal/quota): deliveries append a line
// "size 1" to the Maildir's maildirsize, and whoever adds or removes mail
// otherwise appends its own line ("-size -1" for a removal), as Courier's
// README.maildirquota asks of IMAP servers and Dovecot does. Every folder
// counts, Trash too (internal/quota follows Dovecot), so a move changes
// nothing; an append (sent copies, drafts), a removal from Trash and a
// folder deleted with its mail do. The file is never created here: a
// mailbox without one has no quota, and one written without the limits
// would lose them. A failure to append is not the user's failure: the
// file is a cache that internal/quota rebuilds when it looks wrong.
const quotaFile = "maildirsize"

func (s *Store) noteQuota(bytes, count int64) {
	if bytes == 0 && count == 0 {
		return
	}
	f, err := os.OpenFile(filepath.Join(s.Root, quotaFile), os.O_WRONLY|os.O_APPEND, 0)
	if errors.Is(err, fs.ErrNotExist) || err != nil {
		return
	}
	// One write(2) with O_APPEND: never interleaved with a delivery's.
	f.Write(fmt.Appendf(nil, "%d %d\n", bytes, count))
	f.Close()
}

// messageSize is the size a quota counts for the message file at path:
// the name's ",S=" field, else the file's size [Maildir++].
func messageSize(path string) int64 {
	if n := sizeOf(filepath.Base(path)); n >= 0 {
		return n
	}
	if fi, err := os.Lstat(path); err == nil {
		return fi.Size()
	}
	return 0
}

// folderUsage adds up the messages of a folder's Maildir.
func folderUsage(dir string) (bytes, count int64) {
	for _, sub := range []string{"new", "cur"} {
		names, _ := readNames(filepath.Join(dir, sub))
		for _, n := range names {
			bytes += messageSize(filepath.Join(dir, sub, n))
			count++
		}
	}
	return bytes, count
}
