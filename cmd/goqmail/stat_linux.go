package main

import (
	"io/fs"
	"syscall"
)

func statUID(st fs.FileInfo) int { return int(st.Sys().(*syscall.Stat_t).Uid) }
