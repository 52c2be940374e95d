package queue

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"goqmail/internal/ipc"
	"goqmail/internal/logline"
	"goqmail/internal/proto"
	submitpkg "goqmail/internal/submit"
)

type testQueue struct {
	s      *Server
	submit string
	ctl    string
	logs   *bytes.Buffer
}

func startQueue(t *testing.T, root string) *testQueue {
	t.Helper()
	logs := &bytes.Buffer{}
	s := &Server{Layout: Layout{Root: root}, Log: logline.NewTo(logs, "queue"), SendUID: -1}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tq := &testQueue{s: s, submit: filepath.Join(dir, "submit.sock"), ctl: filepath.Join(dir, "ctl.sock"), logs: logs}
	for path, serve := range map[string]func(*net.UnixListener) error{tq.submit: s.ServeSubmit, tq.ctl: s.ServeCtl} {
		ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go serve(ln)
	}
	return tq
}

func submit(t *testing.T, path, sender string, rcpts []string, content string) proto.Result {
	t.Helper()
	return submitAs(t, path, proto.Begin{Sender: sender}, rcpts, content)
}

func submitAs(t *testing.T, path string, begin proto.Begin, rcpts []string, content string) proto.Result {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out []byte
	out = append(out, begin.Encode(nil)...)
	for _, r := range rcpts {
		out = append(out, proto.Rcpt{Addr: r}.Encode(nil)...)
	}
	for rest := []byte(content); ; {
		n := min(len(rest), proto.MaxChunk)
		out = append(out, proto.EncodeData(nil, rest[:n])...)
		rest = rest[n:]
		if len(rest) == 0 {
			break
		}
	}
	out = append(out, proto.EncodeCommit(nil)...)
	if _, err := c.Write(out); err != nil {
		t.Fatal(err)
	}
	typ, d, err := ipc.NewReader(c, 0).Next()
	if err != nil || typ != proto.TResult {
		t.Fatalf("result: %v %x", err, typ)
	}
	res, err := proto.DecodeResult(d)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestCommitWritesBothFilesAndAnnounces(t *testing.T) {
	root := t.TempDir()
	q := startQueue(t, root)
	res := submit(t, q.submit, "a@example.org", []string{"b@example.org", "c@example.org"}, "Subject: x\n\nhi\n")
	if !res.OK {
		t.Fatalf("commit refused: %+v\n%s", res, q.logs)
	}
	f, err := os.Open(q.s.Layout.Msg(res.ID))
	if err != nil {
		t.Fatal(err)
	}
	st, _ := f.Stat()
	cr, err := ReadContent(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	content := make([]byte, 200)
	n, _ := cr.ReaderAt(f).ReadAt(content, 0)
	f.Close()
	want := regexp.MustCompile(`^Received: \(goqmail [0-9]+ invoked by uid ` + strconv.Itoa(os.Getuid()) + `\); [0-9]+ [A-Z][a-z][a-z] 20[0-9][0-9] [0-9:]{8} -0000\nSubject: x\n\nhi\n$`)
	if !want.Match(content[:n]) {
		t.Fatalf("content %q", content[:n])
	}
	env, err := ReadEnvelope(q.s.Layout.Msg(res.ID))
	if err != nil || env.Sender != "a@example.org" || len(env.Rcpts) != 2 || env.Size != int64(n) || env.UID != int64(os.Getuid()) {
		t.Fatalf("envelope %+v, %v", env, err)
	}
	if ents, _ := os.ReadDir(q.s.Layout.TmpDir()); len(ents) != 0 {
		t.Fatalf("tmp not empty: %v", ents)
	}
	// The queue's own line names the id: the queue's part of one message's
	// trail through the log (docs/logs.md).
	if want := fmt.Sprintf(" queue: msg %s: committed %d bytes from uid %d qp %d, 2 recipients\n", res.ID, env.Size, os.Getuid(), os.Getpid()); !strings.Contains(q.logs.String(), want) {
		t.Errorf("log lacks %q:\n%s", want, q.logs)
	}

	// send connects: the snapshot holds the message; updates and done work.
	c, err := net.Dial("unix", q.ctl)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(proto.EncodeHello(nil))
	r := ipc.NewReader(c, 0)
	typ, d, _ := r.Next()
	m, err := proto.DecodeMsg(d)
	if typ != proto.TMsg || err != nil || m.ID != res.ID || m.NRcpt != 2 {
		t.Fatalf("snapshot msg: %x %+v %v", typ, m, err)
	}
	for i := 0; i < 2; i++ {
		if typ, _, _ := r.Next(); typ != proto.TRcpt {
			t.Fatalf("want rcpt, got %x", typ)
		}
	}
	if typ, _, _ := r.Next(); typ != proto.TMsgEnd {
		t.Fatal("no MsgEnd")
	}
	if typ, _, _ := r.Next(); typ != proto.TSnapEnd {
		t.Fatal("no SnapEnd")
	}
	// A new commit is pushed live.
	res2 := submit(t, q.submit, "", []string{"d@example.org"}, "x\n")
	typ, d, _ = r.Next()
	if m, _ := proto.DecodeMsg(d); typ != proto.TMsg || m.ID != res2.ID || m.Sender != "" {
		t.Fatalf("live msg: %x %+v", typ, m)
	}
	r.Next()
	r.Next()

	c.Write(proto.Update{ID: res.ID, Index: 1, State: proto.StateDone}.Encode(nil))
	c.Write(proto.EncodeDone(nil, res2.ID))
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, errState := os.Stat(q.s.Layout.State(res.ID))
		_, errGone := os.Stat(q.s.Layout.Msg(res2.ID))
		if errState == nil && os.IsNotExist(errGone) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("update/done not applied")
		}
		time.Sleep(10 * time.Millisecond)
	}
	sb, _ := os.ReadFile(q.s.Layout.State(res.ID))
	recs, torn := ParseState(sb)
	if torn || len(recs) != 1 || recs[0].Index != 1 || recs[0].State != proto.StateDone {
		t.Fatalf("state log %+v torn=%v", recs, torn)
	}
}

func TestCommitRefusesBadEnvelopes(t *testing.T) {
	q := startQueue(t, t.TempDir())
	if res := submit(t, q.submit, "a@b", nil, "x\n"); res.OK || res.Temporary {
		t.Fatalf("no recipients: %+v", res)
	}
	// A recipient holding CR LF is refused at the frame and nothing stays.
	c, _ := net.Dial("unix", q.submit)
	c.Write(proto.Begin{Sender: "a@b"}.Encode(nil))
	c.Write(proto.Rcpt{Addr: "x\r\n@b"}.Encode(nil))
	c.Write(proto.EncodeCommit(nil))
	if _, _, err := ipc.NewReader(c, 0).Next(); err == nil {
		t.Fatal("queue answered a submission with CRLF in a recipient")
	}
	c.Close()
	time.Sleep(50 * time.Millisecond)
	if ents, _ := os.ReadDir(q.s.Layout.TmpDir()); len(ents) != 0 {
		t.Fatalf("tmp not cleaned: %v", ents)
	}
}

func TestRecoverEachCrashState(t *testing.T) {
	root := t.TempDir()
	l := Layout{Root: root}
	l.Make()
	env := &Envelope{Birth: 1, Sender: "s@x", Rcpts: []string{"r@x"}}
	write := func(p string, b []byte) {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	const live, stateOnly, badHeader, truncated = "0000000000000001", "0000000000000004", "0000000000000005", "0000000000000006"
	// Power loss: content cut short after the header, a byte changed, an
	// old name of a reused file whose new message has no name (the client
	// got no 250), and one whose new message kept its name too.
	const torn, flipped, staleAlone, staleLinked, newOwner, v1 = "0000000000000007", "0000000000000008", "000000000000000a", "000000000000000b", "000000000000000c", "000000000000000d"
	msgFile := env.MarshalFile(live, []byte("body\n"), nil)
	write(l.Tmp("0000000000000009"), []byte("partial"))
	write(l.Msg(live), msgFile)
	write(l.State(live), nil)
	write(l.State(stateOnly), nil)
	write(l.Msg(badHeader), []byte("garbage"))
	write(l.Msg(truncated), msgFile[:10])
	write(l.Msg("README"), nil)
	full := env.MarshalFile(torn, []byte("a longer body\nof two lines\n"), nil)
	write(l.Msg(torn), full[:len(full)-5])
	b := env.MarshalFile(flipped, []byte("body\n"), nil)
	b[len(b)-2] ^= 1
	write(l.Msg(flipped), b)
	write(l.Msg(staleAlone), env.MarshalFile("00000000000000ff", []byte("someone else's\n"), nil))
	write(l.Msg(newOwner), env.MarshalFile(newOwner, []byte("the new message\n"), nil))
	if err := os.Link(l.Msg(newOwner), l.Msg(staleLinked)); err != nil {
		t.Fatal(err)
	}
	// A message queued by an earlier version, without checksum or id.
	h2 := env.MarshalHeader(v1) // "GQM2", L, C, id, envelope
	v1File := append(append(append([]byte("GQM1"), h2[4:8]...), h2[headerLen:]...), "old body\n"...)
	write(l.Msg(v1), v1File)

	var logs bytes.Buffer
	s := &Server{Layout: l, Log: logline.NewTo(&logs, "queue")}
	ids, err := s.Recover()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{live, newOwner, v1}; fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Fatalf("recovered %v, want %v\n%s", ids, want, logs.String())
	}
	for _, gone := range []string{l.Tmp("0000000000000009"), l.State(stateOnly), l.Msg(badHeader), l.Msg(truncated),
		l.Msg(torn), l.Msg(flipped), l.Msg(staleAlone), l.Msg(staleLinked), l.Bad(staleLinked)} {
		if _, err := os.Stat(gone); !os.IsNotExist(err) {
			t.Errorf("%s survived recovery", gone)
		}
	}
	for _, kept := range []string{l.Bad(badHeader), l.Bad(truncated), l.Bad(torn), l.Bad(flipped), l.Bad(staleAlone), l.State(live), l.Msg("README")} {
		if _, err := os.Stat(kept); err != nil {
			t.Errorf("%s: %v", kept, err)
		}
	}
}

func TestStateLogTornTail(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s")
	AppendState(p, StateRecord{Index: 0, State: proto.StateDone})
	AppendState(p, StateRecord{Index: 1, State: proto.StatePending, RetryAt: 99, Text: "later"})
	b, _ := os.ReadFile(p)
	recs, torn := ParseState(b)
	if torn || len(recs) != 2 || recs[1].RetryAt != 99 {
		t.Fatalf("%+v %v", recs, torn)
	}
	recs, torn = ParseState(b[:len(b)-3])
	if !torn || len(recs) != 1 {
		t.Fatalf("torn tail: %+v %v", recs, torn)
	}
	b[len(b)-1] ^= 0xff
	if recs, torn = ParseState(b); !torn || len(recs) != 1 {
		t.Fatalf("bad crc: %+v %v", recs, torn)
	}
}

// Wait does not sit out its timeout on a client connection that is idle
// between messages (smtpd pools them).
func TestWaitClosesIdleSubmitConnections(t *testing.T) {
	q := startQueue(t, t.TempDir())
	c, err := net.Dial("unix", q.submit)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(50 * time.Millisecond) // let the server reach its idle read
	start := time.Now()
	q.s.Wait(10 * time.Second)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Wait took %v with only an idle connection open", d)
	}
}

// A control connection accepted earlier never displaces one accepted later,
// whatever order their handlers run in (a killed send's connection can sit
// in the backlog while the queue restarts).
func TestStaleControlConnectionDoesNotReplaceNewer(t *testing.T) {
	q := startQueue(t, t.TempDir())
	s := q.s
	// The newer connection (accept number 2) registers first.
	liveConn := unixPair(t)
	go s.handleCtl(liveConn.server, 2)
	liveConn.client.Write(proto.EncodeHello(nil))
	r := ipc.NewReader(liveConn.client, 0)
	if typ, _, err := r.Next(); err != nil || typ != proto.TSnapEnd {
		t.Fatalf("live send got %x %v", typ, err)
	}
	stale := unixPair(t)
	stale.client.Write(proto.EncodeHello(nil))
	go s.handleCtl(stale.server, 1) // must not displace the live one
	// The live send is still served: a new commit reaches it.
	res := submit(t, q.submit, "a@b", []string{"c@d"}, "x\n")
	liveConn.client.SetReadDeadline(time.Now().Add(5 * time.Second))
	typ, d, err := r.Next()
	if err != nil || typ != proto.TMsg {
		t.Fatalf("live send lost its connection: %x %v", typ, err)
	}
	if m, _ := proto.DecodeMsg(d); m.ID != res.ID {
		t.Fatalf("got %s", m.ID)
	}
}

type connPair struct{ client, server *net.UnixConn }

func unixPair(t *testing.T) connPair {
	t.Helper()
	path := filepath.Join(t.TempDir(), "p.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := ln.AcceptUnix()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); sc.Close() })
	return connPair{client: c, server: sc}
}

// The SMTP server's Network flag suppresses the queue's own Received line,
// but only when it comes from the SMTP server's uid.
func TestNetworkFlagTrustedOnlyFromSMTPDUID(t *testing.T) {
	for _, c := range []struct {
		smtpdUID int
		network  bool
		wantLine bool
	}{
		{os.Getuid(), true, false},
		{os.Getuid() + 1, true, true},
		{-1, true, false},
		{os.Getuid(), false, true},
	} {
		root := t.TempDir()
		q := startQueue(t, root)
		q.s.SMTPDUID = c.smtpdUID
		res := submitAs(t, q.submit, proto.Begin{Sender: "a@x.test", Network: c.network}, []string{"b@x.test"}, "S: x\n\nhi\n")
		if !res.OK {
			t.Fatalf("%+v", res)
		}
		b, _ := os.ReadFile(q.s.Layout.Msg(res.ID))
		if got := bytes.Contains(b, []byte("Received: (goqmail ")); got != c.wantLine {
			t.Errorf("smtpd uid %d network %v: Received line %v, want %v", c.smtpdUID, c.network, got, c.wantLine)
		}
	}
}

// TestOneQueueWriterPerRoot: a second queue server on the same root waits
// in Start, before recovery touches any file, until the first has let go of
// queue/lock; a message being received by the first is left alone (it is
// not recycled under the first one's feet) and recovered only afterwards.
func TestOneQueueWriterPerRoot(t *testing.T) {
	root := t.TempDir()
	first := startQueue(t, root)
	// A submission in progress on the first server: tmp/ID exists.
	c, err := net.Dial("unix", first.submit)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(proto.Begin{Sender: "a@x.test"}.Encode(nil))
	c.Write(proto.Rcpt{Addr: "b@x.test"}.Encode(nil))
	c.Write(proto.EncodeData(nil, []byte("Subject: in progress\n\n")))
	var tmp []os.DirEntry
	for deadline := time.Now().Add(5 * time.Second); len(tmp) == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		tmp, _ = os.ReadDir(filepath.Join(root, DirTmp))
	}
	if len(tmp) != 1 {
		t.Fatalf("tmp/ holds %d files, want the one being received", len(tmp))
	}

	logs := &bytes.Buffer{}
	second := &Server{Layout: Layout{Root: root}, Log: logline.NewTo(logs, "queue"), SendUID: -1}
	started := make(chan error, 1)
	go func() { started <- second.Start() }()
	select {
	case err := <-started:
		t.Fatalf("a second queue started on a root whose queue is alive (%v)", err)
	case <-time.After(300 * time.Millisecond):
	}
	if _, err := os.Stat(filepath.Join(root, DirTmp, tmp[0].Name())); err != nil {
		t.Fatalf("the waiting second queue touched the first one's tmp/ file: %v", err)
	}
	first.s.Close()
	select {
	case err := <-started:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the second queue did not start after the first let go of the lock")
	}
	defer second.Close()
	if left, _ := os.ReadDir(filepath.Join(root, DirTmp)); len(left) != 0 {
		t.Errorf("recovery after the lock left tmp/ with %d files", len(left))
	}
}

// TestCommittedFilesVerify: what the queue commits carries its own id and a
// checksum that matches, whatever the size and the number of data frames,
// in a reused file too (its old bytes beyond the new length are cut).
func TestCommittedFilesVerify(t *testing.T) {
	root := t.TempDir()
	q := startQueue(t, root)
	for _, size := range []int{0, 10, 70 << 10, 300 << 10, 10} {
		content := strings.Repeat("x", size) + "\n"
		res, err := submitpkg.Message(q.submit, "a@x.test", []string{"b@x.test"}, strings.NewReader(content), 10*time.Second)
		if err != nil || !res.OK {
			t.Fatalf("%+v %v", res, err)
		}
		if err := verifyFile(q.s.Layout.Msg(res.ID), res.ID); err != nil {
			t.Errorf("%d bytes: %v", size, err)
		}
		env, err := ReadEnvelope(q.s.Layout.Msg(res.ID))
		if err != nil || env.Size < int64(len(content)) {
			t.Errorf("%d bytes: envelope %+v, %v", size, env, err)
		}
		q.s.remove(res.ID) // into free/, for the next one to reuse
	}
}

// TestPrefixDeliveredFirst: header lines sent after the data (proto.Prefix)
// are stored after the body and delivered before it, covered by the
// checksum; lines that could break the header section are refused.
func TestPrefixDeliveredFirst(t *testing.T) {
	q := startQueue(t, t.TempDir())
	conn := &submitpkg.Conn{Path: q.submit}
	defer conn.Close()
	if err := conn.Begin("a@x.test", []string{"b@x.test"}); err != nil {
		t.Fatal(err)
	}
	conn.Write([]byte("Subject: x\n\nbody\n"))
	conn.Prefix([]byte("Authentication-Results: mx.x.test;\n\tspf=pass\n"))
	conn.Prefix([]byte("X-Filter: tagged\n"))
	res, err := conn.Commit(10 * time.Second)
	if err != nil || !res.OK {
		t.Fatalf("%+v %v", res, err)
	}
	path := q.s.Layout.Msg(res.ID)
	if err := verifyFile(path, res.ID); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(path)
	defer f.Close()
	st, _ := f.Stat()
	c, err := ReadContent(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(c.Reader(f))
	want := "Authentication-Results: mx.x.test;\n\tspf=pass\nX-Filter: tagged\nReceived: (goqmail "
	if !strings.HasPrefix(string(got), want) || !strings.HasSuffix(string(got), "Subject: x\n\nbody\n") {
		t.Errorf("delivered message:\n%s", got)
	}
	env, err := ReadEnvelope(path)
	if err != nil || env.Size != int64(len(got)) {
		t.Errorf("envelope size %d, delivered %d (%v)", env.Size, len(got), err)
	}

	for _, bad := range []string{"X: a\r\n", "X: a\n\nbody\n", " continuation\n", "no line end", "X: \x00\n"} {
		conn := &submitpkg.Conn{Path: q.submit}
		conn.Begin("a@x.test", []string{"b@x.test"})
		conn.Write([]byte("Subject: x\n\nbody\n"))
		conn.Prefix([]byte(bad))
		if res, err := conn.Commit(10 * time.Second); err == nil && res.OK {
			t.Errorf("prefix %q was taken", bad)
		}
		conn.Close()
	}
}
