package remote

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzDeliverAgainstPeer plays arbitrary peer replies against the whole
// client. The input is split at '|' into chunks: the first is the
// greeting, and each later chunk goes out when the peer has read a line
// from the client, or when the client waits for a reply and nothing is on
// its way (see scriptPeer). Each connection the client opens (a second
// one after a failed STARTTLS) gets the whole script again. Invariants:
// Deliver returns with one clean result; and "delivered" is only ever
// reported when a chunk holding a 2xx line went out after the client had
// sent the end-of-data line "." (an early 250 never counts).
//
// Deliver cannot wait on anything here: every read is answered at once,
// with bytes, end of file or a timeout, so a Deliver that does not return
// is a loop in the client, and the fuzzer reports it as a hang.
func FuzzDeliverAgainstPeer(f *testing.F) {
	for _, s := range []string{
		"220 hi\r\n|250 hi\r\n|250 ok\r\n|250 ok\r\n|354 go\r\n||||250 done\r\n",
		"220 hi\r\n|250-hi\r\n250 PIPELINING\r\n|250 ok\r\n250 ok\r\n354 go\r\n250 early\r\n|250 late\r\n",
		"220 hi\r\n|250-hi\r\n250 PIPELINING\r\n|250 ok\r\n250 ok\r\n354 go\r\n||||||250 done\r\n",
		"220 hi\r\n250 injected\r\n|250 hi\r\n",
		"220-a\r\n220 b\n|502 no\r\n|250 helo\r\n|451 later\r\n",
		"220 hi\r\n|250-hi\r\n250 SIZE 5\r\n",
		"220 hi\r\n|250 hi\r\n|250 ok\r\n|550 no\r\n",
		"\x00\xff|\r\r\n|",
		"220 hi\r\n|250-hi\r\n250 STARTTLS\r\n|220 go\r\n|not TLS\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		res, peers := deliverAgainstScript(in, nil)
		if len(res) != 1 {
			t.Fatalf("%d results", len(res))
		}
		r := res[0]
		if !utf8.ValidString(r.Text) || strings.ContainsAny(r.Text, "\x00\r\n") || len(r.Text) > 4000 {
			t.Fatalf("unclean text %q", r.Text)
		}
		if r.Code == 'K' && !anyAfterDot(peers, '2') {
			t.Fatalf("delivered without a 2xx sent after the end of data; peers sent after the dot: %q; result %+v", afterDots(peers), r)
		}
	})
}

// deliverAgainstScript delivers one message to a server playing the
// chunks of in, once per connection. slow, if set, wraps each connection
// as the client sees it (a test makes the client slow with it).
func deliverAgainstScript(in []byte, slow func(net.Conn) net.Conn) ([]Result, []*scriptPeer) {
	chunks := bytes.Split(in, []byte("|"))
	var mu sync.Mutex
	var peers []*scriptPeer
	dns := staticDNS{ip: map[string][]netip.Addr{"fuzz.test": {netip.MustParseAddr("127.0.0.2")}}}
	c := &Client{Resolver: dns, HeloHost: "client.test", ReplyTimeout: time.Hour, IdleTimeout: -1,
		Dial: func(context.Context, string, string) (net.Conn, error) {
			p := &scriptPeer{chunks: chunks}
			mu.Lock()
			peers = append(peers, p)
			mu.Unlock()
			if slow != nil {
				return slow(p), nil
			}
			return p, nil
		}}
	res := c.Deliver(context.Background(), job("fuzz.test", "Subject: f\n\n.body\n", "a"))
	c.Close()
	mu.Lock()
	defer mu.Unlock()
	return res, peers
}

func anyAfterDot(peers []*scriptPeer, class byte) bool {
	for _, p := range peers {
		if hasReplyLine(p.sentAfterDot(), class) {
			return true
		}
	}
	return false
}

func afterDots(peers []*scriptPeer) []string {
	var s []string
	for _, p := range peers {
		s = append(s, p.sentAfterDot())
	}
	return s
}

// pollLimit tells the client's short looks for bytes sent out of turn
// (earlyPoll) from its waits for a reply (ReplyTimeout, an hour here).
const pollLimit = time.Minute

// scriptPeer is the server end of one connection, as a net.Conn the client
// dials: an infinitely fast server whose only clock is the client. It
// sends its next chunk after each line it reads, and when the client waits
// for a reply with nothing on its way (where a real server's silence timer
// would fire), it sends chunks until one is not empty. A short look by the
// client (a read deadline under pollLimit) finds only what was already
// sent. After the last chunk the server has nothing more to say: end of
// file.
//
// Nothing here depends on how fast the client runs: the order of events is
// the order of the client's calls. A TCP peer cannot promise that: one
// that waited 20 ms for a line before sending its next chunk took a slow
// client (a loaded machine) for a silent one, sent its "250" before it
// had read the dot that was already on its way, and the client was then
// right to take that 250 as its answer (TestScriptPeerIgnoresClientSpeed).
type scriptPeer struct {
	mu       sync.Mutex
	chunks   [][]byte // not sent yet
	unread   [][]byte // sent, not yet read by the client
	line     []byte   // the client's partial line
	dot      bool     // the client has sent "." ending the data
	afterDot bytes.Buffer
	poll     bool // the read deadline is a short look
	closed   bool
}

// send sends the next chunk; it reports whether the chunk had any bytes.
func (p *scriptPeer) send() bool {
	ch := p.chunks[0]
	p.chunks = p.chunks[1:]
	if p.dot {
		p.afterDot.Write(ch)
	}
	if len(ch) == 0 {
		return false
	}
	p.unread = append(p.unread, ch)
	return true
}

func (p *scriptPeer) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return 0, net.ErrClosed
	}
	for _, c := range b {
		p.line = append(p.line, c)
		if c != '\n' {
			continue
		}
		if string(p.line) == ".\r\n" {
			p.dot = true
		}
		p.line = p.line[:0]
		if len(p.chunks) > 0 {
			p.send()
		}
	}
	return len(b), nil
}

func (p *scriptPeer) Read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return 0, net.ErrClosed
	}
	for len(p.unread) == 0 {
		switch {
		case len(p.chunks) == 0:
			return 0, io.EOF
		case p.poll:
			return 0, &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
		}
		p.send()
	}
	n := copy(b, p.unread[0])
	if p.unread[0] = p.unread[0][n:]; len(p.unread[0]) == 0 {
		p.unread = p.unread[1:]
	}
	return n, nil
}

func (p *scriptPeer) sentAfterDot() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.afterDot.String()
}

func (p *scriptPeer) SetReadDeadline(t time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.poll = !t.IsZero() && time.Until(t) < pollLimit
	return nil
}

func (p *scriptPeer) SetDeadline(t time.Time) error    { return p.SetReadDeadline(t) }
func (p *scriptPeer) SetWriteDeadline(time.Time) error { return nil } // writes never wait
func (p *scriptPeer) LocalAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
}
func (p *scriptPeer) RemoteAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2), Port: 25} }

func (p *scriptPeer) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	return nil
}

// slowDot delays the client's end-of-data line: the client is preempted
// between its last look for early bytes and the dot, as on a loaded
// machine.
type slowDot struct{ net.Conn }

func (c slowDot) Write(b []byte) (int, error) {
	if string(b) == ".\r\n" {
		time.Sleep(30 * time.Millisecond)
	}
	return c.Conn.Write(b)
}

// TestScriptPeerIgnoresClientSpeed is the failure FuzzDeliverAgainstPeer
// showed on its first try in ordinary runs ("delivered without a 2xx sent
// after the end of data; peer sent after the dot: \"\""). Its TCP peer
// waited 20 ms for each line; a client slowed down before its dot made
// that peer send "250 done" before reading the dot, which was already
// written: the harness, not the client, was wrong. The script peer has no
// clock, so the same slowness changes nothing.
func TestScriptPeerIgnoresClientSpeed(t *testing.T) {
	in := []byte("220 hi\r\n|250-hi\r\n250 PIPELINING\r\n|250 ok\r\n250 ok\r\n354 go\r\n||||||250 done\r\n")
	for _, slow := range []func(net.Conn) net.Conn{nil, func(c net.Conn) net.Conn { return slowDot{c} }} {
		res, peers := deliverAgainstScript(in, slow)
		if len(res) != 1 || res[0].Code != 'K' || len(peers) != 1 || peers[0].sentAfterDot() != "250 done\r\n" {
			t.Fatalf("slow=%v: %+v, peers sent after the dot %q", slow != nil, res, afterDots(peers))
		}
	}
	// A 250 sent before the dot is found by the client's look before its
	// dot, however slow the client is.
	early := []byte("220 hi\r\n|250-hi\r\n250 PIPELINING\r\n|250 ok\r\n250 ok\r\n354 go\r\n|||250 early\r\n")
	for _, slow := range []func(net.Conn) net.Conn{nil, func(c net.Conn) net.Conn { return slowDot{c} }} {
		res, _ := deliverAgainstScript(early, slow)
		if len(res) != 1 || res[0].Code != 'Z' || !strings.Contains(res[0].Text, "not delivered") {
			t.Fatalf("slow=%v: %+v", slow != nil, res)
		}
	}
}

// TestScriptPeerServesEveryConnection: a failed STARTTLS makes the client
// try the same host again without TLS. The TCP harness accepted one
// connection per input, so that second connection waited in the backlog
// and the next input's peer took it: from then on every input of that
// fuzz worker was judged against another input's conversation.
func TestScriptPeerServesEveryConnection(t *testing.T) {
	in := []byte("220 hi\r\n|250-hi\r\n250 STARTTLS\r\n|220 go\r\n|not TLS\r\n")
	res, peers := deliverAgainstScript(in, nil)
	if len(peers) != 2 {
		t.Fatalf("%d connections, want 2 (STARTTLS, then plain): %+v", len(peers), res)
	}
	for i, p := range peers {
		p.mu.Lock()
		closed := p.closed
		p.mu.Unlock()
		if !closed {
			t.Errorf("connection %d left open", i+1)
		}
	}
}

func hasReplyLine(s string, class byte) bool {
	for _, l := range strings.Split(s, "\n") {
		if len(l) > 0 && l[0] == class {
			return true
		}
	}
	return false
}
