package local

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"goqmail/internal/proto"
)

const dt = "Delivered-To: u@example.test\n"

func TestHeaderScan(t *testing.T) {
	tests := []struct {
		name string
		msg  string
		loop bool
	}{
		{"first line", dt + "Subject: x\n\nbody\n", true},
		{"later header line", "Received: x\n" + dt + "\nbody\n", true},
		{"only line, no body", dt, true},
		{"in the body", "Subject: x\n\n" + dt, false},
		{"after an empty header", "\n" + dt, false},
		{"other recipient", "Delivered-To: v@example.test\n\n", false},
		{"case differs", "delivered-to: u@example.test\n\n", false},
		{"longer", "Delivered-To: u@example.test.org\n\n", false},
		{"prefix of ours", "Delivered-To: u@example\n\n", false},
		{"trailing space", "Delivered-To: u@example.test \n\n", false},
		{"leading space (folded)", " Delivered-To: u@example.test\n\n", false},
		{"partial last line", "Subject: x\nDelivered-To: u@example.test", false},
		{"empty message", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := headerLoops(strings.NewReader(tt.msg), dt); got != tt.loop {
				t.Fatalf("headerLoops = %v, want %v", got, tt.loop)
			}
			// Streaming, one byte at a time: the same answer.
			lr := &loopReader{r: iotest.OneByteReader(strings.NewReader(tt.msg)), scan: newHeaderScan(dt)}
			_, err := io.Copy(io.Discard, lr)
			if (err == errLooping) != tt.loop {
				t.Fatalf("streaming: %v, want loop=%v", err, tt.loop)
			}
		})
	}
}

// qmailLoops is bouncexf as written in qmail-local.c, over a whole message.
func qmailLoops(msg []byte, dtLine string) bool {
	for len(msg) > 0 {
		i := bytes.IndexByte(msg, '\n')
		if i < 0 {
			return false // !match: a partial line ends the scan
		}
		line := msg[:i+1]
		msg = msg[i+1:]
		if len(line) <= 1 {
			return false
		}
		if string(line) == dtLine {
			return true
		}
	}
	return false
}

// FuzzHeaderScan compares the streaming scanner, fed in pieces of any
// size, with qmail's whole-message algorithm.
func FuzzHeaderScan(f *testing.F) {
	f.Add([]byte(dt+"\n"), 1)
	f.Add([]byte("A: b\n"+dt), 3)
	f.Add([]byte("A: b\n\n"+dt), 7)
	f.Add([]byte("Delivered-To: u@example.tes\n"), 2)
	f.Fuzz(func(t *testing.T, msg []byte, chunk int) {
		if chunk <= 0 {
			chunk = 1
		}
		want := qmailLoops(msg, dt)
		h := newHeaderScan(dt)
		got := false
		for p := msg; len(p) > 0 && !got; {
			n := min(chunk, len(p))
			got = h.feed(p[:n])
			p = p[n:]
		}
		if got != want {
			t.Fatalf("scanner says %v, qmail says %v for %q", got, want, msg)
		}
	})
}

func TestLoopOnStreamingPath(t *testing.T) {
	for _, def := range []string{"./Maildir/\n", "./Mailbox\n"} {
		e := newEnv(t)
		e.req.DefaultDelivery = def
		msg := "Received: x\n" + dt + "Subject: s\n\n" + strings.Repeat("body\n", 50000)
		res, text := e.deliver(msg)
		expect(t, res, text, proto.ResultPermanent, "This message is looping: it already has my Delivered-To line. (#5.4.6)")
		if got := e.maildirFiles("Maildir"); len(got) != 0 {
			t.Fatal("looping message delivered")
		}
		if e.exists("Mailbox") && e.read("Mailbox") != "" {
			t.Fatalf("looping message left in the mbox: %q", e.read("Mailbox"))
		}
	}
}

func TestLoopOnCopyPath(t *testing.T) {
	e := newEnv(t)
	q := newFakeQueue(t, proto.Result{OK: true, ID: "0123456789abcdef"})
	e.w.SubmitSocket = q.path
	e.write(".qmail", "|touch ran\n./Maildir/\n&x@y\n", 0o600)
	res, text := e.deliver(dt + "\n")
	expect(t, res, text, proto.ResultPermanent, "(#5.4.6)")
	if e.exists("ran") || len(e.maildirFiles("Maildir")) != 0 || len(q.submissions()) != 0 {
		t.Fatal("a line ran for a looping message")
	}
	// Ours in the body only: delivered.
	res, text = e.deliver("Subject: x\n\n" + dt)
	expect(t, res, text, proto.ResultSuccess, "did 1+1+1/")
}
