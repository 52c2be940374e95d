package queue

import (
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"

	"goqmail/internal/ipc"
	"goqmail/internal/proto"
)

// fakeBouncer writes a recognisable bounce: the failures, then the original.
type fakeBouncer struct{ doubleTo string }

func (f fakeBouncer) Route(orig string) (sender, rcpt string, double, drop bool, why string) {
	switch orig {
	case "#@[]":
		return "", "", false, true, "triple bounce: discarding"
	case "":
		if f.doubleTo == "" {
			return "", "", true, true, "double bounce: discarding"
		}
		return "#@[]", f.doubleTo, true, false, ""
	}
	return "", orig, false, false, ""
}

func (f fakeBouncer) Write(w io.Writer, b BounceInfo, original io.Reader, size int64) error {
	for _, fl := range b.Failures {
		fmt.Fprintf(w, "<%s>: %s\n", fl.Rcpt, fl.Text)
	}
	fmt.Fprintf(w, "--- %s %d\n", b.ID, size)
	_, err := io.Copy(w, original)
	return err
}

// ctlSession connects as send and consumes the startup snapshot.
func ctlSession(t *testing.T, q *testQueue) (net.Conn, *ipc.Reader) {
	t.Helper()
	c, err := net.Dial("unix", q.ctl)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.Write(proto.EncodeHello(nil))
	r := ipc.NewReader(c, 0)
	for {
		typ, _, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if typ == proto.TSnapEnd {
			return c, r
		}
	}
}

// nextOfType skips frames until one of type want.
func nextOfType(t *testing.T, r *ipc.Reader, want byte) *ipc.Decoder {
	t.Helper()
	for i := 0; i < 100; i++ {
		typ, d, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if typ == want {
			return d
		}
	}
	t.Fatalf("no frame %#x", want)
	return nil
}

func TestBounceQueuedThenRecordedThenRemoved(t *testing.T) {
	q := startQueue(t, t.TempDir())
	q.s.Bouncer = fakeBouncer{doubleTo: "postmaster@h.test"}
	c, r := ctlSession(t, q)
	res := submit(t, q.submit, "s@x.test", []string{"a@h.test", "b@h.test", "c@h.test"}, "Subject: hi\n\nbody\n")
	nextOfType(t, r, proto.TMsgEnd)
	c.Write(proto.Update{ID: res.ID, Index: 0, State: proto.StateFailed, Text: "Sorry, no mailbox here by that name. (#5.1.1)"}.Encode(nil))
	c.Write(proto.Update{ID: res.ID, Index: 2, State: proto.StateFailed, Text: "over quota"}.Encode(nil))
	c.Write(proto.Bounce{ID: res.ID, Indexes: []int{0, 2}}.Encode(nil))

	// The bounce is announced as a new message from <> to the sender ...
	m, err := proto.DecodeMsg(nextOfType(t, r, proto.TMsg))
	if err != nil || m.Sender != "" || m.NRcpt != 1 {
		t.Fatalf("bounce msg %+v %v", m, err)
	}
	st, _ := proto.DecodeRcptState(nextOfType(t, r, proto.TRcpt))
	if st.Addr != "s@x.test" {
		t.Fatalf("bounce to %q", st.Addr)
	}
	// ... then the answer, after which the original is recorded as bounced.
	b, err := proto.DecodeBounced(nextOfType(t, r, proto.TBounced))
	if err != nil || !b.OK || b.BounceID != m.ID || b.ID != res.ID {
		t.Fatalf("answer %+v %v", b, err)
	}
	if want := fmt.Sprintf(" queue: msg %s: committed %d bytes bounce of msg %s, 1 recipients\n", m.ID, m.Size, res.ID); !strings.Contains(q.logs.String(), want) {
		t.Errorf("log lacks %q:\n%s", want, q.logs)
	}
	body, _ := os.ReadFile(q.s.Layout.Msg(m.ID))
	for _, want := range []string{"invoked for bounce", "<a@h.test>: Sorry, no mailbox here", "<c@h.test>: over quota", "Subject: hi\n\nbody\n"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("bounce lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(string(body), "b@h.test") {
		t.Error("bounce names a recipient that did not fail")
	}
	sb, _ := os.ReadFile(q.s.Layout.State(res.ID))
	recs, _ := ParseState(sb)
	bounced := 0
	for _, rec := range recs {
		if rec.State == proto.StateBounced {
			bounced++
		}
	}
	if bounced != 2 {
		t.Fatalf("bounced records %d: %+v", bounced, recs)
	}
	if _, err := os.Stat(q.s.Layout.Msg(res.ID)); err != nil {
		t.Fatal("original removed by a bounce that was not the last")
	}

	// A last bounce removes the original; a double bounce goes to the
	// configured address from #@[].
	res2 := submit(t, q.submit, "", []string{"d@h.test"}, "x\n")
	nextOfType(t, r, proto.TMsgEnd)
	c.Write(proto.Update{ID: res2.ID, Index: 0, State: proto.StateFailed, Text: "no"}.Encode(nil))
	c.Write(proto.Bounce{ID: res2.ID, Last: true, Indexes: []int{0}}.Encode(nil))
	m2, _ := proto.DecodeMsg(nextOfType(t, r, proto.TMsg))
	st2, _ := proto.DecodeRcptState(nextOfType(t, r, proto.TRcpt))
	if m2.Sender != "#@[]" || st2.Addr != "postmaster@h.test" {
		t.Fatalf("double bounce %+v to %q", m2, st2.Addr)
	}
	b2, _ := proto.DecodeBounced(nextOfType(t, r, proto.TBounced))
	if !b2.OK || b2.ID != res2.ID {
		t.Fatalf("answer %+v", b2)
	}
	if _, err := os.Stat(q.s.Layout.Msg(res2.ID)); !os.IsNotExist(err) {
		t.Fatal("original kept after its last bounce")
	}

	// A triple bounce is dropped: answered OK without a bounce id.
	res3 := submit(t, q.submit, "#@[]", []string{"e@h.test"}, "x\n")
	nextOfType(t, r, proto.TMsgEnd)
	c.Write(proto.Update{ID: res3.ID, Index: 0, State: proto.StateFailed, Text: "no"}.Encode(nil))
	c.Write(proto.Bounce{ID: res3.ID, Last: true, Indexes: []int{0}}.Encode(nil))
	b3, _ := proto.DecodeBounced(nextOfType(t, r, proto.TBounced))
	if !b3.OK || b3.BounceID != "" || !strings.Contains(b3.Text, "triple") {
		t.Fatalf("triple bounce answer %+v", b3)
	}
}

// Without a way to write bounces the answer is "not OK": send tries again
// later and the message stays.
func TestBounceFailureKeepsMessage(t *testing.T) {
	q := startQueue(t, t.TempDir())
	c, r := ctlSession(t, q)
	res := submit(t, q.submit, "s@x.test", []string{"a@h.test"}, "x\n")
	nextOfType(t, r, proto.TMsgEnd)
	c.Write(proto.Bounce{ID: res.ID, Last: true, Indexes: []int{0}}.Encode(nil))
	b, _ := proto.DecodeBounced(nextOfType(t, r, proto.TBounced))
	if b.OK {
		t.Fatal("bounce reported done without a bouncer")
	}
	if _, err := os.Stat(q.s.Layout.Msg(res.ID)); err != nil {
		t.Fatal("message lost")
	}
}
