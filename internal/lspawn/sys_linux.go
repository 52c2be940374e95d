package lspawn

import (
	"io/fs"
	"syscall"
)

const syscallNoFollow = syscall.O_NOFOLLOW

func ownerUID(st fs.FileInfo) int {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return int(s.Uid)
	}
	return -1
}
