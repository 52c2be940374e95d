package milterclient

import (
	"context"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	milter "github.com/d--j/go-milter"

	"goqmail/internal/control"
	"goqmail/internal/smtp"
)

func TestParseLine(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Config
	}{
		{"inet:127.0.0.1:11332", Config{Name: "inet:127.0.0.1:11332", Network: "tcp", Address: "127.0.0.1:11332", Timeout: DefaultTimeout}},
		{"inet:[::1]:8891 timeout=5 onfail=accept", Config{Name: "inet:[::1]:8891", Network: "tcp", Address: "[::1]:8891", Timeout: 5 * time.Second, OnFail: FailAccept}},
		{"inet:8891@localhost", Config{Name: "inet:8891@localhost", Network: "tcp", Address: "localhost:8891", Timeout: DefaultTimeout}},
		{"unix:/run/opendkim/opendkim.sock onfail=tempfail", Config{Name: "unix:/run/opendkim/opendkim.sock", Network: "unix", Address: "/run/opendkim/opendkim.sock", Timeout: DefaultTimeout}},
		{"local:/run/x.sock", Config{Name: "local:/run/x.sock", Network: "unix", Address: "/run/x.sock", Timeout: DefaultTimeout}},
	} {
		got, err := ParseLine(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseLine(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"127.0.0.1:11332", "inet:127.0.0.1", "inet::11332", "inet:127.0.0.1:0", "inet:127.0.0.1:99999",
		"unix:run/x.sock", "smtp:x:1", "inet:127.0.0.1:1 timeout=0", "inet:127.0.0.1:1 timeout=abc", "inet:127.0.0.1:1 onfail=pass",
		"inet:127.0.0.1:1 retries=3", "inet:127.0.0.1:1 timeout"} {
		if c, err := ParseLine(bad); err == nil {
			t.Errorf("ParseLine(%q) = %+v, want an error", bad, c)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	snap, probs := control.Inspect(dir)
	if cs, p := Load(snap); len(cs) != 0 || len(p) != 0 {
		t.Errorf("no file: %v %v", cs, p)
	}
	_ = probs
	writeFile(t, dir+"/milters", "# rspamd first\ninet:127.0.0.1:11332\n\nunix:/run/a.sock timeout=x\ninet:127.0.0.1:11332 onfail=accept\n")
	snap, _ = control.Inspect(dir)
	cs, p := Load(snap)
	if len(cs) != 1 || cs[0].Line != 2 {
		t.Errorf("milters %+v", cs)
	}
	if len(p) != 2 || p[0].Line != 4 || p[1].Line != 5 || p[0].File != "control/milters" || p[0].Fix == "" {
		t.Errorf("problems %v", p)
	}
}

// recorded is what the recording milter saw of one message.
type recorded struct {
	mu      sync.Mutex
	headers []string // "name\x00value"
	body    []byte
	eoh     bool
	calls   []string
}

type recordingMilter struct {
	milter.NoOpMilter
	r   *recorded
	eom func(m milter.Modifier) (*milter.Response, error)
}

func (m *recordingMilter) Header(name, value string, _ milter.Modifier) (*milter.Response, error) {
	m.r.mu.Lock()
	defer m.r.mu.Unlock()
	m.r.headers = append(m.r.headers, name+"\x00"+value)
	return milter.RespContinue, nil
}

func (m *recordingMilter) Headers(milter.Modifier) (*milter.Response, error) {
	m.r.mu.Lock()
	defer m.r.mu.Unlock()
	m.r.eoh = true
	return milter.RespContinue, nil
}

func (m *recordingMilter) BodyChunk(c []byte, _ milter.Modifier) (*milter.Response, error) {
	m.r.mu.Lock()
	defer m.r.mu.Unlock()
	m.r.body = append(m.r.body, c...)
	m.r.calls = append(m.r.calls, "body")
	return milter.RespContinue, nil
}

func (m *recordingMilter) EndOfMessage(mod milter.Modifier) (*milter.Response, error) {
	if m.eom != nil {
		return m.eom(mod)
	}
	return milter.RespAccept, nil
}

// serve starts a recording milter and returns a session with a
// transaction begun (connect, HELO, MAIL, RCPT, DATA).
func serve(t *testing.T, eom func(m milter.Modifier) (*milter.Response, error), opts ...milter.Option) (*Session, *recorded) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &recorded{}
	srv := milter.NewServer(append([]milter.Option{milter.WithMilter(func() milter.Milter { return &recordingMilter{r: r, eom: eom} }),
		milter.WithActions(milter.OptAddHeader | milter.OptChangeHeader | milter.OptQuarantine)}, opts...)...)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	cfg, _ := ParseLine("inet:" + ln.Addr().String() + " timeout=5")
	f := Facts{Me: "mx.example.org", Daemon: "smtp", Local: netip.MustParseAddrPort("127.0.0.1:25"), Remote: netip.MustParseAddrPort("192.0.2.7:40000")}
	s, v := Open(cfg, f, "client.example")
	if v.Kind != Continue {
		t.Fatalf("Open: %+v", v)
	}
	t.Cleanup(s.Close)
	for _, v := range []Verdict{s.Mail("a@example.com"), s.Rcpt("b@example.org"), s.Data()} {
		if v.Kind != Continue {
			t.Fatalf("stage: %+v", v)
		}
	}
	return s, r
}

// TestMessageAsMiltersSeeIt: header fields one by one (folding as LF, the
// space after the colon eaten, as Sendmail sends them), the body with
// CRLF in chunks of at most 65535 bytes, whatever pieces smtpd writes.
func TestMessageAsMiltersSeeIt(t *testing.T) {
	s, r := serve(t, nil)
	body := strings.Repeat("x", 70000) + "\nlast line\n"
	msg := "Subject: a\n  folded\nX-Tab:\tv\nFrom: <a@example.com>\n\n" + body
	for i := 0; i < len(msg); i += 7 { // pieces that cut lines anywhere
		if _, err := s.Write([]byte(msg[i:min(i+7, len(msg))])); err != nil {
			t.Fatal(err)
		}
	}
	res := s.End(context.Background())
	if res.Verdict.Kind != Accept {
		t.Fatalf("End: %+v", res)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	want := []string{"Subject\x00a\n  folded", "X-Tab\x00\tv", "From\x00<a@example.com>"}
	if strings.Join(r.headers, "|") != strings.Join(want, "|") || !r.eoh {
		t.Errorf("headers %q (eoh %v), want %q", r.headers, r.eoh, want)
	}
	if string(r.body) != strings.ReplaceAll(body, "\n", "\r\n") {
		t.Errorf("body of %d bytes, want %d with CRLF", len(r.body), len(body)+2)
	}
	if len(r.calls) < 2 {
		t.Errorf("%d body chunks for %d bytes", len(r.calls), len(r.body))
	}
}

// TestHeaderOnlyMessage: a message that is all header (no empty line),
// and one whose header section ends with a line that is no field: the
// milter still gets the end of header and a body (empty, or from that
// line on, as Postfix sends it).
func TestHeaderOnlyMessage(t *testing.T) {
	s, r := serve(t, nil)
	s.Write([]byte("Subject: only\n"))
	if res := s.End(context.Background()); res.Verdict.Kind != Accept {
		t.Fatalf("End: %+v", res)
	}
	if len(r.headers) != 1 || !r.eoh || len(r.body) != 0 {
		t.Errorf("headers %q eoh %v body %q", r.headers, r.eoh, r.body)
	}
	s2, r2 := serve(t, nil)
	s2.Write([]byte("Subject: x\nnot a field\nmore\n"))
	s2.End(context.Background())
	if len(r2.headers) != 1 || string(r2.body) != "not a field\r\nmore\r\n" {
		t.Errorf("headers %q body %q", r2.headers, r2.body)
	}
}

// TestModifications: what End makes of each change a milter asks for.
func TestModifications(t *testing.T) {
	s, _ := serve(t, func(m milter.Modifier) (*milter.Response, error) {
		m.AddHeader("X-Spam", "Yes")
		m.InsertHeader(0, "Authentication-Results", "mx.example.org;\n\tdkim=pass")
		m.ChangeHeader(1, "Subject", "[SPAM] a") // the client's: left out
		m.ChangeHeader(1, "X-Spam-Score", "9.5") // not in the message: added
		m.ChangeHeader(1, "From", "")            // deletion: left out
		m.AddHeader("X-Unfolded", "one\ntwo")    // folded for it
		m.AddHeader("X-Bad", "nul\x01")          // left out
		m.Quarantine("score 9.5")
		return milter.RespAccept, nil
	})
	s.Write([]byte("Subject: a\nFrom: x@example.com\n\nbody\n"))
	res := s.End(context.Background())
	want := "X-Spam: Yes\nAuthentication-Results: mx.example.org;\n\tdkim=pass\nX-Spam-Score: 9.5\nX-Unfolded: one\n\ttwo\n"
	if res.Verdict.Kind != Accept || string(res.Headers) != want || res.Quarantine != "score 9.5" || len(res.Ignored) != 3 || len(res.Unsupported) != 0 {
		t.Errorf("End: %+v\nheaders:\n%s", res, res.Headers)
	}
}

// TestEndGivesUp: a milter that does not answer the end of the message is
// a failure when the caller's context ends, whatever the milter's own
// timeout.
func TestEndGivesUp(t *testing.T) {
	release := make(chan struct{})
	s, _ := serve(t, func(milter.Modifier) (*milter.Response, error) {
		<-release
		return milter.RespAccept, nil
	})
	defer close(release)
	s.Write([]byte("Subject: a\n\nb\n"))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if res := s.End(ctx); res.Verdict.Kind != Failed {
		t.Errorf("End: %+v, want Failed", res)
	}
}

// TestReplies: the protocol's fixed actions and a milter's own reply.
func TestReplies(t *testing.T) {
	s, _ := serve(t, func(milter.Modifier) (*milter.Response, error) {
		return milter.RejectWithCodeAndReason(554, "5.7.1 Gtube pattern")
	})
	s.Write([]byte("Subject: a\n\nb\n"))
	if res := s.End(context.Background()); res.Verdict.Kind != Reject || res.Verdict.Reply != (smtp.Reply{Code: 554, Enh: "5.7.1", Text: "Gtube pattern"}) {
		t.Errorf("End: %+v", res)
	}
	s2, _ := serve(t, func(milter.Modifier) (*milter.Response, error) { return milter.RespTempFail, nil })
	s2.Write([]byte("Subject: a\n\nb\n"))
	if res := s2.End(context.Background()); res.Verdict.Kind != Reject || res.Verdict.Reply != ReplyTempFail {
		t.Errorf("tempfail: %+v", res)
	}
}

// TestNoReplyMilter: a milter that asks for no replies before the end of
// the message (as rspamd does) works the same.
func TestNoReplyMilter(t *testing.T) {
	s, r := serve(t, nil, milter.WithProtocols(milter.OptNoConnReply|milter.OptNoHeloReply|milter.OptNoMailReply|milter.OptNoRcptReply|
		milter.OptNoDataReply|milter.OptNoHeaderReply|milter.OptNoEOHReply|milter.OptNoBodyReply|milter.OptNoUnknownReply))
	s.Write([]byte("Subject: a\n\nbody\n"))
	if res := s.End(context.Background()); res.Verdict.Kind != Accept {
		t.Fatalf("End: %+v", res)
	}
	if string(r.body) != "body\r\n" {
		t.Errorf("body %q", r.body)
	}
}

// TestDown: a milter nobody listens for fails at Open.
func TestDown(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	cfg, _ := ParseLine("inet:" + addr + " timeout=2")
	if _, v := Open(cfg, Facts{Remote: netip.MustParseAddrPort("192.0.2.7:1"), Local: netip.MustParseAddrPort("127.0.0.1:25")}, "x"); v.Kind != Failed || v.Err == nil {
		t.Errorf("Open of a closed port: %+v", v)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
