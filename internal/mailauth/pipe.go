package mailauth

import (
	"io"
	"sync"
)

// elasticPipe carries the message from smtpd's writes to the verifier's
// reads with a buffer in between, so the writer (the session reading DATA)
// does not wait while the reader waits for DNS (the key lookup comes
// between the header and the body). Past limit bytes buffered, Write
// waits for the reader: memory per message stays bounded, and the wait
// is bounded by the verifier's own DNS timeout. Once the reader is done
// (it needs no more), writes are dropped.
type elasticPipe struct {
	mu         sync.Mutex
	cond       sync.Cond
	buf        []byte // buf[off:] is unread
	off        int
	limit      int
	wclosed    bool  // no more writes: the reader gets werr after the buffer
	werr       error // io.EOF for a message that ended well
	readerGone bool
}

func newElasticPipe(limit int) *elasticPipe {
	p := &elasticPipe{limit: limit}
	p.cond.L = &p.mu
	return p
}

// Write never fails: a reader that stopped early has what it needs.
func (p *elasticPipe) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(b)
	for len(b) > 0 {
		for len(p.buf)-p.off >= p.limit && !p.readerGone && !p.wclosed {
			p.cond.Wait()
		}
		if p.readerGone || p.wclosed {
			return n, nil
		}
		room := min(p.limit-(len(p.buf)-p.off), len(b))
		if p.off > 0 && len(p.buf)+room > cap(p.buf) {
			p.buf = p.buf[:copy(p.buf, p.buf[p.off:])]
			p.off = 0
		}
		p.buf = append(p.buf, b[:room]...)
		b = b[room:]
		p.cond.Broadcast()
	}
	return n, nil
}

func (p *elasticPipe) Read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.buf) == p.off && !p.wclosed {
		p.cond.Wait()
	}
	if len(p.buf) == p.off {
		return 0, p.werr
	}
	n := copy(b, p.buf[p.off:])
	p.off += n
	if p.off == len(p.buf) {
		p.buf, p.off = p.buf[:0], 0
	}
	p.cond.Broadcast()
	return n, nil
}

// closeWrite ends the stream: err io.EOF when the message is complete,
// another error when it never will be.
func (p *elasticPipe) closeWrite(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.wclosed {
		p.wclosed, p.werr = true, err
	}
	p.cond.Broadcast()
}

// closeRead says the reader needs nothing more: writes are dropped.
func (p *elasticPipe) closeRead() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.readerGone = true
	p.buf, p.off = nil, 0
	p.cond.Broadcast()
}

var _ io.ReadWriter = (*elasticPipe)(nil)
