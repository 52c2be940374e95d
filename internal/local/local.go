// Package local is the delivery process: it runs as the recipient (never as
// root), receives deliveries from the local spawner over a packet socket,
// each with the open message file, and writes them to the recipient's
// mailbox. Today that is ~/Maildir/ (qmail's ./Maildir/ default delivery);
// .qmail instructions arrive with the delivery issue and hook in at
// Worker.deliver.
//
// SECURITY: runs as the recipient's uid with only its primary gid. Reads the
// message only through the descriptor it was given; trusts the spawner's
// frames after strict decoding; never runs a shell.
package local

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"goqmail/internal/durable"
	"goqmail/internal/ipc"
	"goqmail/internal/logline"
	"goqmail/internal/maildir"
	"goqmail/internal/proto"
)

// Worker serves one spawner connection.
type Worker struct {
	Sock *os.File
	Log  *logline.Logger
	Mode durable.Mode

	deliverer maildir.Deliverer
	sendMu    sync.Mutex
}

// Run serves deliveries until the spawner closes the socket, then waits for
// deliveries in progress to finish.
func (w *Worker) Run() error {
	var wg sync.WaitGroup
	defer wg.Wait()
	w.deliverer.Sync.Mode = w.Mode
	buf := make([]byte, 64<<10)
	for {
		body, files, err := ipc.RecvPacket(int(w.Sock.Fd()), buf, 1)
		if errors.Is(err, ipc.ErrClosed) {
			return nil
		}
		if err != nil {
			return err
		}
		typ, d, err := ipc.NewDecoder(body)
		var req proto.Local
		if err == nil && typ != proto.TLocal {
			err = fmt.Errorf("unexpected frame type %#x", typ)
		}
		if err == nil {
			req, err = proto.DecodeLocal(d)
		}
		if err == nil && len(files) != 1 {
			err = fmt.Errorf("delivery without its message file")
		}
		if err != nil {
			for _, f := range files {
				f.Close()
			}
			return fmt.Errorf("bad request from the spawner: %w", err)
		}
		wg.Add(1)
		go func(req proto.Local, msg *os.File) {
			defer wg.Done()
			defer msg.Close()
			res, text := w.deliver(req, msg)
			w.reply(proto.Report{Seq: req.Seq, Result: res, Text: text})
		}(req, files[0])
	}
}

func (w *Worker) reply(rep proto.Report) {
	w.sendMu.Lock()
	defer w.sendMu.Unlock()
	if err := ipc.SendPacket(int(w.Sock.Fd()), rep.Packet(nil)); err != nil {
		w.Log.Printf("warning: report delivery %d: %v", rep.Seq, err)
	}
}

// deliver puts one message into ~/Maildir/ with qmail-local's Return-Path
// and Delivered-To lines in front.
func (w *Worker) deliver(req proto.Local, msg *os.File) (byte, string) {
	dir := filepath.Join(req.Home, "Maildir")
	prefix := make([]byte, 0, 64+len(req.Sender)+len(req.Local)+len(req.Domain))
	prefix = append(prefix, "Return-Path: <"...)
	prefix = append(prefix, req.Sender...)
	prefix = append(prefix, ">\nDelivered-To: "...)
	prefix = append(prefix, req.Local...)
	if req.Domain != "" {
		prefix = append(prefix, '@')
		prefix = append(prefix, req.Domain...)
	}
	prefix = append(prefix, '\n')
	body := &exactReader{r: msg, left: req.Size}
	if _, err := w.deliverer.Deliver(dir, prefix, body); err != nil {
		if body.short {
			return proto.ResultDeferral, "Unable to read message: it ended early. (#4.3.0)"
		}
		return proto.ResultDeferral, maildirError(err)
	}
	return proto.ResultSuccess, "did 1+0+0/"
}

// exactReader passes on exactly the announced number of bytes and turns an
// early end into an error, so a copy that broke off in the spawner can never
// become a truncated message in new/.
type exactReader struct {
	r     io.Reader
	left  int64
	short bool
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if err == io.EOF && e.left > 0 {
		e.short = true
		return n, io.ErrUnexpectedEOF
	}
	if err == io.EOF {
		err = nil
	}
	return n, err
}

// maildirError words a Maildir failure as qmail-local does; every one is
// temporary: the message stays queued and is retried.
func maildirError(err error) string {
	switch {
	case errors.Is(err, syscall.EDQUOT):
		return "Disk quota exceeded. (#4.2.2)"
	case errors.Is(err, syscall.ENOSPC):
		return "Out of disk space. (#4.3.0)"
	case errors.Is(err, os.ErrNotExist):
		return "Unable to chdir to maildir: no ~/Maildir/ with tmp/ and new/. (#4.2.1)"
	case errors.Is(err, os.ErrPermission):
		return "Unable to open maildir: permission denied. (#4.2.1)"
	}
	return "Unable to write to maildir: " + err.Error() + " (#4.3.0)"
}
