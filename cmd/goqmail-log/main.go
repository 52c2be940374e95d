// Command goqmail-log is the log writer (multilog's place): goqmaild starts
// it, as the goqmaill account, when control/logdest sends the programs'
// lines somewhere else than goqmaild's standard error. It reads the pipe of
// every program (descriptors 3, 4, ..., named by GOQMAIL_LOG_FDS) and
// writes whole lines to ROOT/log (files), the journal or syslog
// (GOQMAIL_LOG). Its own troubles go to its standard error, goqmaild's.
// SIGHUP rereads logsize and logkeep; SIGTERM (goqmaild's last step of a
// stop) writes what is left in the pipes and exits. See
// internal/logwriter and docs/logs.md.
package main

import (
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"goqmail/internal/control"
	"goqmail/internal/logdir"
	"goqmail/internal/logline"
	"goqmail/internal/logsink"
	"goqmail/internal/logwriter"
)

// drainWait is how long the stop waits for lines still on their way: every
// program has exited by then, so the pipes hold all there is, and only a
// straggler (a .qmail program's background child) can keep a pipe open.
const drainWait = time.Second

func main() {
	warn := logline.New("log") // goqmaild's standard error
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	root := logline.RootArg("goqmail-log")
	syscall.Umask(0o027)
	snap, err := control.Load(filepath.Join(root, "control"))
	if err != nil {
		warn.ConfigFatalf(control.ErrorLines(err)...)
	}
	w := &logwriter.Writer{Warn: warn, Now: time.Now, Retry: time.Second}
	var dir *logdir.Dir
	switch dest := os.Getenv("GOQMAIL_LOG"); dest {
	case "files":
		path := filepath.Join(root, "log")
		dir, err = logdir.Open(path, snap.Number(control.LogSize), int(snap.Number(control.LogKeep)))
		if err != nil {
			warn.Fatalf("log directory %s: %v (goqmail install makes it, owned by goqmaill)", path, err)
		}
		w.Sink = logwriter.Files{Dir: dir}
	case "journal", "syslog":
		w.Sink = &logwriter.Entries{Dial: dialer(dest), Fallback: os.Stderr, Warn: warn, Now: time.Now}
	default:
		warn.Fatalf("GOQMAIL_LOG=%q: goqmaild says files, journal or syslog", dest)
	}
	log := w.Logger("log")

	var pipes []*os.File
	for i, name := range strings.Split(os.Getenv("GOQMAIL_LOG_FDS"), ",") {
		fd := 3 + i
		// Non-blocking, so that the stop can set a deadline on the reads.
		if name == "" || syscall.SetNonblock(fd, true) != nil {
			warn.Fatalf("descriptor %d (%q) is not open: goqmaild passes the log pipes", fd, name)
		}
		pipes = append(pipes, os.NewFile(uintptr(fd), name))
	}
	var wg sync.WaitGroup
	for _, f := range pipes {
		wg.Add(1)
		go func() { defer wg.Done(); w.Pipe(f.Name(), f) }()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	log.Printf("status: writing %d programs' lines to %s", len(pipes), os.Getenv("GOQMAIL_LOG"))
	for {
		select {
		case <-done: // every writer is gone
			finish(w, warn)
			return
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				reload(root, w, dir, log)
				continue
			}
			w.Stopping()
			for _, f := range pipes {
				f.SetReadDeadline(time.Now().Add(drainWait))
			}
			<-done
			finish(w, warn)
			return
		}
	}
}

func dialer(dest string) func() (logsink.Sink, error) {
	if dest == "journal" {
		return logwriter.Dialer(dest, env("GOQMAIL_JOURNAL_SOCKET", logsink.JournalSocket))
	}
	return logwriter.Dialer(dest, env("GOQMAIL_SYSLOG_SOCKET", logsink.SyslogSocket))
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// reload applies logsize and logkeep (SIGHUP).
func reload(root string, w *logwriter.Writer, dir *logdir.Dir, log *logline.Logger) {
	snap, err := control.Load(filepath.Join(root, "control"))
	if err != nil {
		log.ReloadFailed(control.ErrorLines(err))
		return
	}
	if dir != nil {
		w.Locked(func() { dir.SetLimits(snap.Number(control.LogSize), int(snap.Number(control.LogKeep))) })
	}
	log.Printf("status: configuration reloaded")
}

func finish(w *logwriter.Writer, warn *logline.Logger) {
	if err := w.Sink.Close(); err != nil {
		warn.Printf("warning: closing the log: %v", err)
	}
}
