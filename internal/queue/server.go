package queue

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"goqmail/internal/durable"
	"goqmail/internal/ipc"
	"goqmail/internal/logline"
	"goqmail/internal/metrics"
	"goqmail/internal/pidlock"
	"goqmail/internal/proto"
)

// Server is the queue process's state.
type Server struct {
	Layout  Layout
	Log     *logline.Logger
	SendUID int // only this uid may use the ctl socket (-1: any, for single-user mode)
	// SMTPDUID is the SMTP server's uid, the only one whose Network flag is
	// believed (-1: any, for single-user mode, where there is no boundary).
	SMTPDUID int
	// Bouncer writes bounces (nil: bounce requests fail and send retries).
	Bouncer Bouncer
	// Signer adds DKIM signatures (sign.go); nil: none.
	Signer Signer
	Now    func() time.Time
	// Metrics receives the commit counts of docs/metrics.md; nil: none.
	Metrics *metrics.Client

	Durable durable.Syncer
	// JournalSegSize is the size of each journal segment (journal.go);
	// 0: JournalSegmentSize. Tests make it small to exercise the ring.
	JournalSegSize int64
	journal        *journal // syncmode journal; nil otherwise
	idBase         uint64
	idSeq          atomic.Uint64

	free freePool
	lock *pidlock.Lock // queue/lock, held until the process exits

	mu        sync.Mutex
	ids       map[string]int64 // committed, not yet removed: file size
	withState map[string]bool  // messages that have a state log
	sub       *subscriber      // the connected send, if any

	conns    sync.WaitGroup
	stopping atomic.Bool
	idleMu   sync.Mutex
	idle     map[*net.UnixConn]bool // submit connections between messages
}

// Start prepares the server: the queue's lock, recovery, then the index of
// live messages.
//
// The lock comes first and is kept until the process exits: recovery
// recycles tmp/ files, and a queue process that is still alive (its
// supervisor was killed and a new one started at once) may still be
// writing into one of them. Two queue writers must never overlap, so a new
// queue waits, saying for whom, until the kernel has ended the old one.
func (s *Server) Start() error {
	if s.Now == nil {
		s.Now = time.Now
	}
	if err := s.Layout.Make(); err != nil {
		return err
	}
	lock, err := pidlock.Acquire(s.Layout.Lock(), 0o600, 10*time.Second, func(h *pidlock.HeldError, waited time.Duration) {
		s.Log.Printf("warning: %v: waiting %v so far for that queue process to exit before recovery", h, waited.Round(time.Second))
	})
	if err != nil {
		return err
	}
	s.lock = lock
	ids, err := s.Recover()
	if err != nil {
		return err
	}
	// Ids are the start time in nanoseconds plus a counter: unique across
	// restarts (a restart takes longer than the ids issued per nanosecond),
	// sortable by arrival, and never reused (commit refuses to overwrite).
	s.idBase = uint64(s.Now().UnixNano())
	how := s.Durable.Mode.String()
	if s.Durable.Mode == durable.Journal && s.journal == nil {
		how = "fsync, the journal could not be made"
	}
	s.Log.Printf("status: queue holds %d messages; files made durable with %s", len(ids), how)
	return nil
}

func (s *Server) newID() string {
	return fmt.Sprintf("%016x", s.idBase+s.idSeq.Add(1))
}

// ServeSubmit accepts submissions until the listener closes.
func (s *Server) ServeSubmit(ln *net.UnixListener) error {
	return s.serve(ln, func(c *net.UnixConn, _ uint64) { s.handleSubmit(c) })
}

// ServeCtl accepts send's control connection until the listener closes.
func (s *Server) ServeCtl(ln *net.UnixListener) error {
	return s.serve(ln, s.handleCtl)
}

// serve runs h for each accepted connection, with its accept number.
func (s *Server) serve(ln *net.UnixListener, h func(c *net.UnixConn, n uint64)) error {
	var n uint64
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			time.Sleep(100 * time.Millisecond) // EMFILE and friends: back off
			continue
		}
		n++
		s.conns.Add(1)
		go func(n uint64) {
			defer s.conns.Done()
			defer c.Close()
			h(c, n)
		}(n)
	}
}

// Wait waits for open connections to finish (SIGTERM: commits in progress
// complete and answer before the process exits). Submit connections that
// sit between messages (smtpd keeps a pool of them) are closed at once.
func (s *Server) Wait(timeout time.Duration) {
	s.stopping.Store(true)
	s.idleMu.Lock()
	for c, idle := range s.idle {
		if idle {
			c.SetReadDeadline(time.Now())
		}
	}
	s.idleMu.Unlock()
	done := make(chan struct{})
	go func() { s.conns.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
	}
}

// Close releases the queue's lock, for a process that goes on after its
// queue server (tests that restart a queue in-process); the queue program
// itself keeps the lock until it exits.
func (s *Server) Close() {
	if s.lock != nil {
		s.lock.Release()
		s.lock = nil
	}
}

// incoming is a message being received on a submit connection.
type incoming struct {
	id      string
	file    *os.File
	path    string // where file lies until commit: free/fN (pooled) or tmp/ID
	pooled  string // the pool name of a reused file, "" for a new one
	env     Envelope
	started bool   // header and envelope written; recipients are closed
	written int64  // bytes written: the file may be a reused one, longer than this
	crc     uint32 // the checksum of what was written after its field (files.go)
	prefix  []byte // header lines to deliver before the content (proto.TPrefix)
	// jbuf is the journal record being built: jrecHeader bytes of room,
	// then a copy of everything written to the file; nil when the queue
	// has no journal or the message outgrew it (journal.go).
	jbuf []byte
	err  error // first error: reported at commit
	perm bool  // the error is permanent (bad envelope)
	// received is qmail-queue's own trace line, put before the content for
	// local submissions (sendmail, forwards, bounces).
	received []byte
	// bounceOf is the message a bounce reports, for the log.
	bounceOf string
	// wantSign: the submitter may have the message signed (sign.go);
	// sign is its way to the signer once the content starts.
	wantSign bool
	sign     SignStream
	signErr  error
}

// receivedLine is qmail-queue's trace line for a message that did not come
// from the network: it records who submitted it, from the socket's peer
// credentials, which the submitter cannot forge (qmail-queue.c).
func receivedLine(cred ipc.Cred, birth int64) []byte {
	return fmt.Appendf(nil, "Received: (goqmail %d invoked by uid %d); %s\n",
		cred.PID, cred.UID, time.Unix(birth, 0).UTC().Format("2 Jan 2006 15:04:05 -0000"))
}

// submitIdle bounds how long a submit connection may sit between frames;
// qmail-queue kills itself after 24 hours, smtpd's own timeouts are far
// shorter.
const submitIdle = 2 * time.Hour

func (s *Server) handleSubmit(c *net.UnixConn) {
	cred, err := ipc.PeerCred(c)
	if err != nil {
		s.Log.Printf("warning: submit: %v", err)
		return
	}
	r := ipc.NewReader(c, proto.MaxChunk+64)
	var msg *incoming
	defer func() {
		if msg != nil {
			s.discard(msg)
		}
		s.setIdle(c, false, true)
	}()
	var out []byte
	for {
		if msg == nil && !s.setIdle(c, true, false) {
			return // stopping: no new message on this connection
		}
		c.SetReadDeadline(time.Now().Add(submitIdle))
		typ, d, err := r.Next()
		if err != nil {
			return // EOF or garbage: the client got no Result, nothing was queued
		}
		switch typ {
		case proto.TBegin:
			if msg != nil {
				s.discard(msg)
			}
			b, err := proto.DecodeBegin(d)
			if err != nil {
				s.Log.Printf("warning: submit from uid %d: %v", cred.UID, err)
				return
			}
			s.setIdle(c, false, false)
			msg = s.begin(b.Sender, cred)
			local := !b.Network || (s.SMTPDUID >= 0 && cred.UID != s.SMTPDUID)
			if local {
				msg.received = receivedLine(cred, msg.env.Birth)
			}
			// Local submissions are signed; from the network only what
			// smtpd vouches for (sign.go).
			msg.wantSign = local || b.Sign
		case proto.TRcpt:
			rc, err := proto.DecodeRcpt(d)
			if err != nil || msg == nil || msg.started {
				s.Log.Printf("warning: submit from uid %d: bad recipient frame (%v)", cred.UID, err)
				return
			}
			if len(msg.env.Rcpts) >= proto.MaxRcpts {
				msg.fail(errors.New("too many recipients"), true)
				continue
			}
			msg.env.Rcpts = append(msg.env.Rcpts, rc.Addr)
		case proto.TData:
			chunk, err := proto.DecodeData(d)
			if err != nil || msg == nil {
				s.Log.Printf("warning: submit from uid %d: bad data frame (%v)", cred.UID, err)
				return
			}
			s.write(msg, chunk)
		case proto.TPrefix:
			lines, err := proto.DecodePrefix(d)
			if err != nil || msg == nil {
				s.Log.Printf("warning: submit from uid %d: bad prefix frame (%v)", cred.UID, err)
				return
			}
			if len(msg.prefix)+len(lines) > proto.MaxPrefix {
				msg.fail(errors.New("too many header lines added at the end of data"), true)
				continue
			}
			msg.prefix = append(msg.prefix, lines...)
		case proto.TCommit:
			if d.End() != nil || msg == nil {
				return
			}
			res := s.commit(msg)
			msg = nil
			out = res.Encode(out)
			if _, err := c.Write(out); err != nil {
				return
			}
		case proto.TAbort:
			if d.End() != nil {
				return
			}
			if msg != nil {
				s.discard(msg)
				msg = nil
			}
		default:
			s.Log.Printf("warning: submit from uid %d: unexpected frame type %#x", cred.UID, typ)
			return
		}
	}
}

// setIdle records whether a submit connection waits between messages;
// it returns false when the server is stopping and the connection should
// end instead of waiting.
func (s *Server) setIdle(c *net.UnixConn, idle, gone bool) bool {
	s.idleMu.Lock()
	defer s.idleMu.Unlock()
	if s.idle == nil {
		s.idle = map[*net.UnixConn]bool{}
	}
	if gone {
		delete(s.idle, c)
		return false
	}
	s.idle[c] = idle
	return !(idle && s.stopping.Load())
}

func (m *incoming) fail(err error, perm bool) {
	if err != nil && m.err == nil {
		m.err, m.perm = err, perm
	}
}

func (s *Server) begin(sender string, cred ipc.Cred) *incoming {
	m := &incoming{id: s.newID(), env: Envelope{Sender: sender, UID: int64(cred.UID), PID: int64(cred.PID), Birth: s.Now().Unix()}}
	f, path, pooled, err := s.createMessageFile(m.id)
	if err != nil {
		m.fail(fmt.Errorf("create message file: %w", err), false)
		return m
	}
	m.file, m.path, m.pooled = f, path, pooled
	if s.journal != nil {
		m.jbuf = getJbuf()
	}
	return m
}

// jbufs keeps journal record buffers from one message to the next. Built
// anew, the record of a 100 KB message grew from 8 KB by a dozen copies,
// and the garbage collector and the runtime's handing freed pages back to
// the kernel (madvise, then a page fault for each page taken back) were a
// quarter of the queue's CPU at 100 KB (docs/bench.md, 2026-12-07 23:50).
var jbufs sync.Pool

func getJbuf() []byte {
	if b, ok := jbufs.Get().(*[]byte); ok {
		return (*b)[:jrecHeader]
	}
	return make([]byte, jrecHeader, jrecHeader+8192)
}

// putJbuf gives back a record buffer the journal has written: appendLocked
// copies it into the file and keeps no reference.
func putJbuf(b []byte) {
	if b != nil {
		jbufs.Put(&b)
	}
}

// startSign opens the way to the signer for a message that may be signed,
// when a domain has a key.
func (s *Server) startSign(m *incoming) {
	if !m.wantSign || s.Signer == nil || !s.Signer.Enabled() {
		return
	}
	m.sign, m.signErr = s.Signer.Start(m.id)
}

// signWrite copies content to the signer; its first error is kept for
// commit.
func (m *incoming) signWrite(p []byte) {
	if m.sign == nil || m.signErr != nil || len(p) == 0 {
		return
	}
	m.signErr = m.sign.Write(p)
}

// finishSign gets the signature of a message that went to the signer and
// puts it first in the prefix (RFC 6376 5.6: the field goes on top). A
// signer that failed fails the commit for now: mail that should be
// signed does not leave unsigned without anyone noticing.
func (s *Server) finishSign(m *incoming) error {
	if m.sign == nil && m.signErr == nil {
		return nil
	}
	err := m.signErr
	var field []byte
	if err == nil {
		field, err = m.sign.Finish(signTimeout)
	}
	if m.sign != nil {
		m.sign.Close()
		m.sign = nil
	}
	if err != nil {
		s.Log.Printf("alert: msg %s: %v", m.id, err)
		return err
	}
	if len(field) > 0 {
		m.prefix = append(field, m.prefix...)
	}
	return nil
}

// write appends content; the first write puts the header and envelope in
// front, after which no more recipients may come.
func (s *Server) write(m *incoming, p []byte) {
	if m.err != nil {
		return
	}
	m.env.Size += int64(len(p))
	if !m.started {
		m.started = true
		if len(m.env.Rcpts) == 0 {
			m.fail(errors.New("no recipients"), true)
			return
		}
		s.startSign(m)
		m.signWrite(m.received)
		m.signWrite(p)
		hdr := m.env.MarshalHeader(m.id)
		hdr = append(hdr, m.received...)
		m.env.Size += int64(len(m.received))
		p = append(hdr, p...) // one write for a small message
		m.crc = Checksum(0, p[idOffset:])
	} else {
		m.signWrite(p)
		m.crc = Checksum(m.crc, p)
	}
	if len(p) == 0 {
		return
	}
	if m.jbuf != nil {
		if len(m.jbuf)-jrecHeader+len(p) > journalMaxImage {
			putJbuf(m.jbuf)
			m.jbuf = nil // committed with its own fsync
		} else {
			m.jbuf = append(m.jbuf, p...)
		}
	}
	n, err := m.file.Write(p)
	m.written += int64(n)
	m.fail(err, false)
}

func (s *Server) discard(m *incoming) {
	if m.sign != nil {
		m.sign.Close()
		m.sign = nil
	}
	if m.file != nil {
		m.file.Close()
		m.file = nil
		switch {
		case m.pooled != "" && m.written <= freeMaxBytes:
			s.free.push(m.pooled) // still in free/: back to the pool as it is
		case m.pooled != "":
			os.Remove(m.path) // grown past what the pool keeps (recycle's rule)
		default:
			s.recycle(m.path, m.written)
		}
	}
}

// commit makes a received message durable and returns the answer for the
// client. The sequence (docs/queue.md):
//
//  1. the file (a reused one still in free/, or a new tmp/ID) holds
//     header, envelope and content: append the prefix (header
//     lines the client sent after the data), write its length and the
//     checksum into the header, cut the file to its length (it may be a
//     reused one).
//  2. syncmode journal, a message of up to 256 kB (commitJournal): append
//     the file's image to the journal and wait for the fdatasync shared
//     with every commit running at the same time (journal.go), then
//     rename the file to msg/ID without a sync. Recovery puts msg/ID back
//     from the journal if a power loss took it.
//  3. otherwise (commitFile): make the file's content durable (fsync, or a
//     shared syncfs), rename it to msg/ID (the commit point), then make
//     the name durable: fsync msg/, shared with every commit running at
//     the same time (internal/durable). A name never points at content
//     that is not on stable storage.
//  4. only then answer OK, and tell send.
func (s *Server) commit(m *incoming) proto.Result {
	start := time.Now()
	fail := func(err error, perm bool) proto.Result {
		s.Log.Printf("warning: commit failed: %v", err)
		s.discard(m)
		text := tempText(err)
		if perm {
			text = "qq permanent problem: " + err.Error() + " (#5.3.0)"
		}
		return proto.Result{Temporary: !perm, Text: text}
	}
	s.write(m, nil) // a message without content still gets its header
	if m.err != nil {
		return fail(m.err, m.perm)
	}
	if err := s.finishSign(m); err != nil {
		return fail(err, false)
	}
	prefixLen := len(m.prefix)
	if prefixLen > 0 {
		s.write(m, m.prefix) // at the end of the file; delivered first (files.go)
		if m.err != nil {
			return fail(m.err, m.perm)
		}
	}
	err := PutTrailer(m.file, prefixLen, m.crc)
	if err == nil {
		err = m.file.Truncate(m.written)
	}
	if err != nil {
		return fail(err, false)
	}
	if m.jbuf != nil && int64(len(m.jbuf)-jrecHeader) == m.written && s.journal.takes(len(m.jbuf)) {
		err = s.commitJournal(m, prefixLen)
	} else {
		err = s.commitFile(m)
	}
	if err != nil {
		return proto.Result{Temporary: true, Text: tempText(err)}
	}
	// The queue's line names the new id beside who submitted it: with
	// smtpd's "accepted msg" (or a bounce's original) it starts the trail
	// of one message through every program (docs/logs.md).
	what := fmt.Sprintf("from uid %d qp %d", m.env.UID, m.env.PID)
	if m.bounceOf != "" {
		what = "bounce of msg " + m.bounceOf
	}
	s.Log.Printf("msg %s: committed %d bytes %s, %d recipients", m.id, m.env.Size, what, len(m.env.Rcpts))
	s.announce(m.id, &m.env, m.written)
	s.Metrics.Observe(metrics.QueueCommit, time.Since(start))
	s.Metrics.Inc(metrics.QueueCommitted)
	return proto.Result{OK: true, ID: m.id}
}

// commitFile makes a message durable on its own (syncmode fsync or
// syncfs, or a message too large for the journal): steps 1-3 of commit.
// On error the message is gone and the error was logged.
func (s *Server) commitFile(m *incoming) error {
	err := s.Durable.File(m.file)
	if err == nil {
		err = renameNoReplace(m.path, s.Layout.Msg(m.id))
	}
	if err != nil {
		s.Log.Printf("warning: commit failed: %v", err)
		s.discard(m) // back to the pool, or recycles tmp/ID
		return err
	}
	f := m.file
	m.file = nil
	err = s.Durable.Name(s.Layout.MsgDir(), f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		// Whether the message reached the disk is unknown. Refuse (the
		// client retries, at worst a duplicate) and remove it: a file that
		// failed to write must not be delivered later.
		s.Log.Printf("alert: making msg %s durable failed: %v", m.id, err)
		os.Remove(s.Layout.Msg(m.id))
	}
	return err
}

// commitJournal makes a message durable through the journal (journal.go):
// the answer waits for the journal record of the file's whole image to be
// on stable storage, then the file is renamed to msg/ID without a sync.
// Recovery puts msg/ID back from the journal if a power loss took it.
func (s *Server) commitJournal(m *incoming, prefixLen int) error {
	img := m.jbuf[jrecHeader:]
	binary.BigEndian.PutUint32(img[crcOffset:], m.crc)
	binary.BigEndian.PutUint32(img[prefixOffset:], uint32(prefixLen))
	renamed := false
	err := s.journal.commitMsg(m.id, m.jbuf, func() error {
		err := renameNoReplace(m.path, s.Layout.Msg(m.id))
		renamed = err == nil
		return err
	})
	putJbuf(m.jbuf)
	m.jbuf = nil
	f := m.file
	if err == nil || renamed {
		m.file = nil
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		s.Log.Printf("alert: committing msg %s failed: %v", m.id, err)
		if renamed {
			// The record is durable: a done record keeps recovery from
			// putting back a message the client was refused.
			s.journal.done(m.id)
			os.Remove(s.Layout.Msg(m.id))
		} else {
			s.discard(m) // back to the pool, or recycles tmp/ID
		}
		if !s.journal.usable() {
			s.Log.Printf("alert: queue journal off: each message is committed with its own fsync until the queue restarts")
		}
	}
	return err
}

// tempText is the answer to a commit that failed for now. A full disk
// (or quota) has its own code, RFC 3463's 4.3.1 "mail system full", which
// smtpd turns into 452 (RFC 5321 4.2.2 "insufficient system storage");
// the rest is qmail's "qq write error" with 4.3.0.
func tempText(err error) string {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return "qq out of disk space (#4.3.1)"
	}
	if errors.Is(err, ErrSigner) {
		return "qq temporary problem: cannot DKIM-sign the message now (#4.3.0)"
	}
	return "qq write error (#4.3.0)"
}

func renameNoReplace(from, to string) error {
	if err := unix.Renameat2(unix.AT_FDCWD, from, unix.AT_FDCWD, to, unix.RENAME_NOREPLACE); err != nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
	}
	return nil
}

// announce adds a committed message to the index and queues it for send.
func (s *Server) announce(id string, env *Envelope, size int64) {
	frames := encodeMsg(id, env, nil, false)
	s.mu.Lock()
	s.ids[id] = size
	sub := s.sub
	s.mu.Unlock()
	if sub != nil {
		sub.push(frames)
	}
}

func encodeMsg(id string, env *Envelope, states []proto.RcptState, held bool) []byte {
	out := proto.Msg{ID: id, Birth: env.Birth, Size: env.Size, UID: env.UID, QP: env.PID, Sender: env.Sender, NRcpt: len(env.Rcpts), Held: held}.Encode(nil)
	for i, r := range env.Rcpts {
		st := proto.RcptState{Index: i, Addr: r}
		if states != nil {
			st = states[i]
			st.Addr = r
		}
		out = append(out, st.Encode(nil)...)
	}
	return append(out, proto.EncodeMsgEnd(nil)...)
}
