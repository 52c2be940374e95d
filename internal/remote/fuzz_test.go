package remote

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzDeliverAgainstPeer plays arbitrary peer replies against the whole
// client. The input is split at '|' into chunks: the first is the
// greeting, and each later chunk goes out after the peer reads a line from
// the client (or after 20 ms of client silence). Invariants: Deliver
// returns in bounded time with one clean result; and "delivered" is only
// ever reported when a chunk holding a 2xx line was sent after the peer
// had received the end-of-data line "." (an early 250 never counts).
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
	} {
		f.Add([]byte(s))
	}
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		f.Fatal(err)
	}
	defer ln.Close()
	port := netip.MustParseAddrPort(ln.Addr().String()).Port()
	dns := staticDNS{mx: nil, ip: map[string][]netip.Addr{"fuzz.test": {netip.MustParseAddr("127.0.0.2")}}}

	f.Fuzz(func(t *testing.T, in []byte) {
		chunks := bytes.Split(in, []byte("|"))
		type verdict struct{ afterDot string }
		done := make(chan verdict, 1)
		go func() {
			nc, err := ln.Accept()
			if err != nil {
				done <- verdict{}
				return
			}
			defer nc.Close()
			var after strings.Builder
			sawDot := false
			br := bufio.NewReader(nc)
			for i, ch := range chunks {
				if i > 0 {
					nc.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
					if line, err := br.ReadString('\n'); err == nil && line == ".\r\n" {
						sawDot = true
					} else if err != nil && !isTimeout(err) {
						break
					}
				}
				if sawDot {
					after.Write(ch)
				}
				nc.SetWriteDeadline(time.Now().Add(time.Second))
				if _, err := nc.Write(ch); err != nil {
					break
				}
			}
			nc.(*net.TCPConn).CloseWrite()
			nc.SetReadDeadline(time.Now().Add(2 * time.Second))
			io.Copy(io.Discard, br)
			done <- verdict{afterDot: after.String()}
		}()
		c := &Client{Resolver: dns, Port: port, HeloHost: "client.test", ConnectTimeout: time.Second,
			ReplyTimeout: 200 * time.Millisecond, IdleTimeout: -1}
		start := time.Now()
		res := c.Deliver(context.Background(), job("fuzz.test", "Subject: f\n\n.body\n", "a"))
		c.Close()
		if el := time.Since(start); el > 5*time.Second {
			t.Fatalf("Deliver took %v", el)
		}
		v := <-done
		if len(res) != 1 {
			t.Fatalf("%d results", len(res))
		}
		r := res[0]
		if !utf8.ValidString(r.Text) || strings.ContainsAny(r.Text, "\x00\r\n") || len(r.Text) > 4000 {
			t.Fatalf("unclean text %q", r.Text)
		}
		if r.Code == 'K' && !hasReplyLine(v.afterDot, '2') {
			t.Fatalf("delivered without a 2xx sent after the end of data; peer sent after the dot: %q; result %+v", v.afterDot, r)
		}
	})
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

func hasReplyLine(s string, class byte) bool {
	for _, l := range strings.Split(s, "\n") {
		if len(l) > 0 && l[0] == class {
			return true
		}
	}
	return false
}
