package remote

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"goqmail/internal/control"
	"goqmail/internal/ipc"
	"goqmail/internal/logline"
	"goqmail/internal/proto"
	"goqmail/internal/queue"
)

// JobTimeout bounds one job as a whole: each step has its own timeout
// (timeoutconnect, timeoutremote); this only makes sure nothing leaks.
const JobTimeout = 2 * time.Hour

// Server is goqmail-remote: it serves send's remote jobs, one connection at
// a time (the newest wins), reading each message from the queue (the queue
// directory is readable by the goqmail group, as qmail's queue/mess is by
// qmail-remote) and reporting one result per recipient.
//
// SECURITY: runs as goqmailr with group goqmail. Trusts send's frames only
// after strict decoding; opens only queue/msg/<id> for validated ids; talks
// to the network only through Client, whose replies are parsed strictly and
// capped.
type Server struct {
	Queue   queue.Layout
	SendUID int // only this uid may connect; -1: any
	Log     *logline.Logger

	client atomic.Pointer[Client]
	tls    atomic.Pointer[control.DomainSet]
	jobs   sync.WaitGroup
}

// SetClient installs a client (at start and on SIGHUP); the old one's idle
// connections are closed once jobs that use it finish.
func (s *Server) SetClient(c *Client, requireTLS *control.DomainSet) {
	s.tls.Store(requireTLS)
	if old := s.client.Swap(c); old != nil {
		go func() { time.Sleep(time.Minute); old.Close() }()
	}
}

// Serve accepts send's connections until ln closes.
func (s *Server) Serve(ln *net.UnixListener) error {
	return ipc.ServeOne(ln, s.SendUID, s.session, func(cred ipc.Cred, err error) {
		s.Log.Printf("warning: refused connection from uid %d (%v)", cred.UID, err)
	})
}

// Wait waits up to timeout for running jobs.
func (s *Server) Wait(timeout time.Duration) {
	done := make(chan struct{})
	go func() { s.jobs.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
	}
}

func (s *Server) session(c *net.UnixConn) {
	var mu sync.Mutex
	w := bufio.NewWriterSize(c, 16<<10)
	r := ipc.NewReader(c, 0)
	for {
		typ, d, err := r.Next()
		if err != nil {
			return
		}
		if typ != proto.TRemote {
			s.Log.Printf("warning: unexpected frame type %#x from send", typ)
			return
		}
		job, err := proto.DecodeRemote(d)
		if err != nil {
			s.Log.Printf("warning: bad remote job: %v", err)
			return
		}
		s.jobs.Add(1)
		go func() {
			defer s.jobs.Done()
			rep := s.run(job)
			mu.Lock()
			w.Write(rep.Encode(nil))
			w.Flush() // a failed write: send is gone and will retry the job
			mu.Unlock()
		}()
	}
}

// run delivers one job and returns its report.
func (s *Server) run(job proto.Remote) proto.Remoted {
	rep := proto.Remoted{Seq: job.Seq, Results: make([]proto.RcptResult, len(job.Rcpts))}
	fail := func(text string) proto.Remoted {
		for i := range rep.Results {
			rep.Results[i] = proto.RcptResult{Result: proto.ResultDeferral, Text: text}
		}
		s.Log.Printf("%s", jobLine(job, rep.Results, nil))
		return rep
	}
	f, content, size, err := openContent(s.Queue.Msg(job.ID))
	if err != nil {
		return fail("Unable to read the message: " + err.Error() + " (#4.3.0)")
	}
	defer f.Close()
	c := s.client.Load()
	if c == nil {
		return fail("Remote delivery is not configured yet. (#4.3.0)")
	}
	requireTLS := job.RequireTLS
	if set := s.tls.Load(); set != nil && set.Match(job.Domain) {
		requireTLS = true
	}
	ctx, cancel := context.WithTimeout(context.Background(), JobTimeout)
	defer cancel()
	results := c.Deliver(ctx, Job{Sender: job.Sender, Rcpts: job.Rcpts, Domain: job.Domain,
		Size: size, Content: content, RequireTLS: requireTLS})
	for i := range rep.Results {
		if i < len(results) {
			rep.Results[i] = proto.RcptResult{Result: results[i].Code, Text: results[i].Text}
		} else {
			rep.Results[i] = proto.RcptResult{Result: proto.ResultDeferral, Text: "No result for this recipient. (#4.3.0)"}
		}
	}
	s.Log.Printf("%s", jobLine(job, rep.Results, results))
	return rep
}

// jobLine is remote's part of one message's trail (docs/logs.md): send's
// delivery number, the queue id, the domain, what became of the
// recipients and the hosts that answered. Each recipient's report is
// send's to log.
func jobLine(job proto.Remote, rep []proto.RcptResult, results []Result) string {
	var ok, failed, deferred int
	for _, r := range rep {
		switch r.Result {
		case proto.ResultSuccess:
			ok++
		case proto.ResultPermanent:
			failed++
		default:
			deferred++
		}
	}
	// Each host with its TLS (docs/outbound.md): "via 192.0.2.1:25 [TLS1.3
	// TLS_AES_128_GCM_SHA256, DANE-EE]".
	var hosts []string
	policy := ""
	for _, r := range results {
		h := r.Host
		if h == "" {
			if r.TLS != "" {
				policy = r.TLS
			}
			continue
		}
		if r.TLS != "" {
			h += " [" + r.TLS + "]"
		}
		if !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	via := "no host answered"
	if len(hosts) > 0 {
		via = "via " + strings.Join(hosts, " ")
	}
	if policy != "" {
		via += "; TLS policy: " + policy
	}
	return fmt.Sprintf("delivery %d: msg %s to %s: %d accepted, %d failed, %d deferred (%s)", job.Seq, job.ID, job.Domain, ok, failed, deferred, via)
}

// openContent opens a queued message read-only and returns the delivered
// message (queue.Content: prefix, then body) as one stretch and its length.
func openContent(path string) (*os.File, io.ReaderAt, int64, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, nil, 0, err
	}
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = fmt.Errorf("%s is not a regular file", path)
	}
	var c queue.Content
	if err == nil {
		c, err = queue.ReadContent(f, st.Size())
	}
	if err != nil {
		f.Close()
		return nil, nil, 0, err
	}
	return f, c.ReaderAt(f), c.Size(), nil
}
