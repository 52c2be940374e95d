package maildir

import (
	"io/fs"
	"syscall"
	"time"
)

// accessTime is the file's atime: man maildir.5 lets cleaners remove tmp/
// files "not accessed" for 36 hours, and qmail-pop3d tests st_atime.
func accessTime(fi fs.FileInfo) time.Time {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return time.Unix(st.Atim.Sec, st.Atim.Nsec)
	}
	return fi.ModTime()
}
