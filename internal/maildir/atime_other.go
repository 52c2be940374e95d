//go:build !linux

package maildir

import (
	"io/fs"
	"time"
)

// accessTime falls back to the mtime where we do not read the platform's
// stat structure: for a tmp/ file, which only its delivery writes, the
// last write is the last use that matters.
func accessTime(fi fs.FileInfo) time.Time { return fi.ModTime() }
