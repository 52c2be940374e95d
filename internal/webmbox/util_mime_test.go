package webmbox

import (
	"io"

	"goqmail/internal/ipc"
)

func ipcReader(r io.Reader) *ipc.Reader { return ipc.NewReader(r, ipc.MaxFrame) }
