package smtpd

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	milter "github.com/d--j/go-milter"
)

// fakeMilter is a milter for tests (d--j/go-milter's server side), driven
// by what the session sends, so a dialog script can ask for any verdict:
//
//	HELO milter-reject.example   554 5.7.1 at the connection (HELO) stage
//	HELO milter-accept.example   accept the session: no more calls
//	MAIL with mail-reject, mail-tempfail, mail-discard in the sender
//	RCPT with rcpt-reject (550 5.7.1 custom), rcpt-tempfail, rcpt-discard,
//	     rcpt-accept in the recipient
//	X-Milter-Test: reject-header   reject at that header
//	X-Milter-Test: VERB            at the end of the message: reject,
//	     tempfail, discard, quarantine, replacebody, addrcpt, deleteheader,
//	     changeheader-new, insert, multiline, slow (sleeps 3 s)
//
// At the end of every message it accepts it adds X-Fake-Milter: what it
// saw (header count, body bytes as sent, with CRLF, and the macros).
type fakeMilter struct {
	milter.NoOpMilter
	mu      *sync.Mutex
	log     *[]string
	helo    string
	from    string
	rcpts   int
	headers int
	body    int
	test    string
}

func (f *fakeMilter) note(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	*f.log = append(*f.log, fmt.Sprintf(format, args...))
}

func (f *fakeMilter) Connect(host, family string, port uint16, addr string, m milter.Modifier) (*milter.Response, error) {
	f.note("connect %s %s %s", host, family, addr)
	return milter.RespContinue, nil
}

func (f *fakeMilter) Helo(name string, m milter.Modifier) (*milter.Response, error) {
	f.helo = name
	f.note("helo %s", name)
	switch name {
	case "milter-reject.example":
		return milter.RejectWithCodeAndReason(554, "5.7.1 your HELO is refused by the milter")
	case "milter-accept.example":
		return milter.RespAccept, nil
	}
	return milter.RespContinue, nil
}

func (f *fakeMilter) MailFrom(from, args string, m milter.Modifier) (*milter.Response, error) {
	f.from, f.rcpts, f.headers, f.body, f.test = from, 0, 0, 0, ""
	f.note("mail %s", from)
	switch {
	case strings.Contains(from, "mail-reject"):
		return milter.RespReject, nil
	case strings.Contains(from, "mail-tempfail"):
		return milter.RespTempFail, nil
	case strings.Contains(from, "mail-discard"):
		return milter.RespDiscard, nil
	}
	return milter.RespContinue, nil
}

func (f *fakeMilter) RcptTo(rcpt, args string, m milter.Modifier) (*milter.Response, error) {
	f.note("rcpt %s", rcpt)
	switch {
	case strings.Contains(rcpt, "rcpt-reject"):
		return milter.RejectWithCodeAndReason(550, "5.7.1 not this recipient, says the milter")
	case strings.Contains(rcpt, "rcpt-tempfail"):
		return milter.RespTempFail, nil
	case strings.Contains(rcpt, "rcpt-discard"):
		return milter.RespDiscard, nil
	case strings.Contains(rcpt, "rcpt-accept"):
		return milter.RespAccept, nil
	}
	f.rcpts++
	return milter.RespContinue, nil
}

func (f *fakeMilter) Header(name, value string, m milter.Modifier) (*milter.Response, error) {
	f.headers++
	if strings.EqualFold(name, "X-Milter-Test") {
		f.test = value
		if value == "reject-header" {
			return milter.RejectWithCodeAndReason(554, "5.7.1 refused at a header")
		}
	}
	return milter.RespContinue, nil
}

func (f *fakeMilter) BodyChunk(chunk []byte, m milter.Modifier) (*milter.Response, error) {
	f.body += len(chunk)
	return milter.RespContinue, nil
}

func (f *fakeMilter) EndOfMessage(m milter.Modifier) (*milter.Response, error) {
	f.note("eom %s", f.test)
	switch f.test {
	case "reject":
		return milter.RejectWithCodeAndReason(554, "5.7.1 content refused by the milter")
	case "tempfail":
		return milter.RespTempFail, nil
	case "discard":
		return milter.RespDiscard, nil
	case "quarantine":
		m.Quarantine("fake spam score 99")
	case "replacebody":
		m.ReplaceBody(strings.NewReader("new body\r\n"))
	case "addrcpt":
		m.AddRecipient("<extra@example.org>", "")
	case "deleteheader":
		m.ChangeHeader(1, "Subject", "")
	case "changeheader-new":
		m.ChangeHeader(1, "X-Not-There", "added by change")
	case "insert":
		m.InsertHeader(0, "X-Inserted", "at the top")
	case "multiline":
		m.AddHeader("X-Multi", "first\nsecond")
	case "slow":
		time.Sleep(3 * time.Second)
	}
	m.AddHeader("X-Fake-Milter", fmt.Sprintf("helo=%s from=%s rcpts=%d headers=%d body=%d daemon=%s client=%s",
		f.helo, f.from, f.rcpts, f.headers, f.body, m.Get(milter.MacroDaemonName), m.Get(milter.MacroClientAddr)))
	return milter.RespAccept, nil
}

func (f *fakeMilter) Abort(m milter.Modifier) error {
	f.note("abort")
	return nil
}

// fakeMilterServer is a running fake milter.
type fakeMilterServer struct {
	Addr string
	mu   sync.Mutex
	log  []string
}

// startFakeMilter listens on 127.0.0.1 until the test ends.
func startFakeMilter(t testing.TB) *fakeMilterServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fs := &fakeMilterServer{Addr: ln.Addr().String()}
	// The macros it asks for (milter's negotiation), as rspamd and
	// opendkim do.
	srv := milter.NewServer(milter.WithMilter(func() milter.Milter { return &fakeMilter{mu: &fs.mu, log: &fs.log} }),
		milter.WithActions(milter.OptAddHeader|milter.OptChangeHeader|milter.OptQuarantine|milter.OptChangeBody|milter.OptAddRcpt),
		milter.WithMacroRequest(milter.StageEOM, []milter.MacroName{milter.MacroDaemonName, milter.MacroClientAddr}))
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return fs
}

// calls returns what the milter saw so far.
func (fs *fakeMilterServer) calls() []string {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return append([]string(nil), fs.log...)
}
