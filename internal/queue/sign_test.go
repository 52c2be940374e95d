package queue

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"goqmail/internal/proto"
)

// fakeSigner records what reaches it and signs everything with a fixed
// field, or fails as told.
type fakeSigner struct {
	mu      sync.Mutex
	got     []string // the content of each request
	failAt  string   // "start", "write", "finish" or ""
	enabled bool
}

func (f *fakeSigner) Enabled() bool { return f.enabled }

func (f *fakeSigner) Start(id string) (SignStream, error) {
	if f.failAt == "start" {
		return nil, errors.Join(ErrSigner, errors.New("connection refused"))
	}
	return &fakeStream{f: f}, nil
}

type fakeStream struct {
	f   *fakeSigner
	buf bytes.Buffer
}

func (s *fakeStream) Write(p []byte) error {
	if s.f.failAt == "write" {
		return errors.Join(ErrSigner, errors.New("broken pipe"))
	}
	s.buf.Write(p)
	return nil
}

func (s *fakeStream) Finish(time.Duration) ([]byte, error) {
	if s.f.failAt == "finish" {
		return nil, errors.Join(ErrSigner, errors.New("no answer"))
	}
	s.f.mu.Lock()
	s.f.got = append(s.f.got, s.buf.String())
	s.f.mu.Unlock()
	return []byte("DKIM-Signature: v=1; d=x.test;\n b=abc\n"), nil
}

func (s *fakeStream) Close() {}

func delivered(t *testing.T, q *testQueue, id string) string {
	t.Helper()
	f, err := os.Open(q.s.Layout.Msg(id))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	c, err := ReadContent(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.ReadFrom(c.Reader(f))
	return b.String()
}

// Which submissions go to the signer: local ones always, network ones
// only when smtpd (its uid) asks; the field lands on top of the message,
// and the signer saw the content as delivered below it.
func TestSigningWhoAndWhere(t *testing.T) {
	for _, c := range []struct {
		name     string
		smtpdUID int
		begin    proto.Begin
		enabled  bool
		want     bool
	}{
		{"local", os.Getuid() + 1, proto.Begin{Sender: "a@x.test"}, true, true},
		{"network unvouched", os.Getuid(), proto.Begin{Sender: "a@x.test", Network: true}, true, false},
		{"network vouched", os.Getuid(), proto.Begin{Sender: "a@x.test", Network: true, Sign: true}, true, true},
		{"network flag from another uid", os.Getuid() + 1, proto.Begin{Sender: "a@x.test", Network: true}, true, true},
		{"no keys", os.Getuid() + 1, proto.Begin{Sender: "a@x.test"}, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := startQueue(t, t.TempDir())
			f := &fakeSigner{enabled: c.enabled}
			q.s.Signer, q.s.SMTPDUID = f, c.smtpdUID
			res := submitAs(t, q.submit, c.begin, []string{"b@y.test"}, "From: a@x.test\n\nhi\n")
			if !res.OK {
				t.Fatalf("%+v\n%s", res, q.logs)
			}
			msg := delivered(t, q, res.ID)
			signed := strings.HasPrefix(msg, "DKIM-Signature: v=1; d=x.test;\n b=abc\n")
			if signed != c.want || (len(f.got) == 1) != c.want {
				t.Fatalf("signed %v (requests %d), want %v:\n%s", signed, len(f.got), c.want, msg)
			}
			if c.want && "DKIM-Signature: v=1; d=x.test;\n b=abc\n"+f.got[0] != msg {
				t.Errorf("the signer saw\n%q\nbut the message is\n%q", f.got[0], msg)
			}
		})
	}
}

// A signer that cannot be reached or breaks off fails the commit for now
// (the client retries): the message is not queued unsigned.
func TestSignerFailureIsTemporary(t *testing.T) {
	for _, at := range []string{"start", "write", "finish"} {
		q := startQueue(t, t.TempDir())
		q.s.Signer = &fakeSigner{enabled: true, failAt: at}
		res := submit(t, q.submit, "a@x.test", []string{"b@y.test"}, "From: a@x.test\n\nhi\n")
		if res.OK || !res.Temporary || !strings.Contains(res.Text, "DKIM") {
			t.Errorf("signer failing at %s: %+v", at, res)
		}
		if ents, _ := os.ReadDir(q.s.Layout.MsgDir()); len(ents) != 0 {
			t.Errorf("signer failing at %s: a message was queued: %v", at, ents)
		}
	}
}
