package smtpd

// Golden SMTP dialogs (Postfix's smtpd_check.in/.ref, chasquid's .cmy
// scripts): every testdata/dialogs/*.txt is one scenario, played against a
// real Server on a TCP socket on 127.0.0.1, submitting to a real
// queue.Server, with the configuration read by LoadConfig from a control/
// directory the scenario fills.
//
// Script format, one directive per line; blank lines and lines starting
// with '#' are ignored. Text after a directive is taken from the single
// space that follows it to the end of the line, trailing spaces included.
//
//	control NAME VALUE  write control/NAME as VALUE plus a newline; "\n" in
//	                    VALUE is a line break, "$ROOT" the scenario's
//	                    directory (also in tcprules and script). Before the session only. The
//	                    harness writes "me mail.example.org" and "rcpthosts
//	                    example.org" unless the script sets or removes them.
//	nocontrol NAME      remove control/NAME.
//	tcprules RULE       append RULE as a line of control/tcp.smtp.
//	noqueue             nobody listens on the submit socket (queue down).
//	listener KIND       serve the session as smtp (default), submission or
//	                    smtps (ServeKind).
//	certificate         write a test certificate to control/servercert.pem
//	                    (STARTTLS is offered; the TLS parts are Go tests).
//	authuser LOGIN PASSWORD USER [OWNS...]
//	                    the fake auth service knows this login; without any
//	                    authuser or authdown there is no Authenticator.
//	authdown            the fake auth service fails every Verify.
//	grant yes|no|error  the fake POP-before-SMTP grants allow 127.0.0.1,
//	                    allow nobody, or fail.
//	queuefree BYTES     the queue's file system has BYTES free (the check at
//	                    MAIL); without it there is no check.
//	dns RECORD          a record (zone-file syntax, absolute names) of a DNS
//	                    server on loopback (route/dnstest) that
//	                    control/dnsservers points at (policy lookups).
//	dnsfail NAME        that server answers SERVFAIL for NAME (absolute).
//	dnsdrop NAME        that server never answers for NAME (a timeout).
//	peer IP             the client connects from IP (127.0.0.2, ...).
//	CLOCK DURATION      the server's clock moves on by DURATION (Go syntax:
//	                    5m, 1h30m); it starts at the real time and moves only
//	                    so (greylisting, rate limits) once a script uses CLOCK.
//	milter OPTIONS      start a fake milter (fakemilter_test.go: what it does
//	                    is chosen by HELO, addresses and X-Milter-Test) and
//	                    list it in control/milters with OPTIONS after its
//	                    address (timeout=, onfail=); several are in order.
//	milterdown OPTIONS  list a milter nobody listens for.
//	script NAME TEXT    write the executable ROOT/NAME (mode 0755) with
//	                    TEXT, "\n" a line break: qmail-spp plugins and
//	                    QMAILQUEUE programs.
//	C: TEXT             send TEXT and CRLF; TEXT is literal.
//	C> BYTES            send BYTES and nothing else; escapes \r \n \t \\
//	                    \xHH, and \(N*TEXT) for TEXT (with escapes, no ')')
//	                    repeated N times.
//	                    Consecutive C: and C> lines go out in one write, so
//	                    they reach the server together: that is pipelining.
//	                    To wait for replies in between, put S: lines there.
//	S: LINE             the next reply line is exactly LINE (CRLF stripped).
//	S~ GLOB             the next reply line matches GLOB: '*' is any run of
//	                    bytes, everything else literal (queue ids, times).
//	CLOSED              the server closes the connection now, with nothing
//	                    more to read.
//	OPEN                the connection is still open and nothing more came.
//	                    Every script ends its session with CLOSED, OPEN or
//	                    HANGUP; only queue checks may follow.
//	HANGUP              the client closes the connection.
//	SLEEP MS            the client waits MS milliseconds (after sending what
//	                    it has).
//	QUEUED N            exactly N messages are committed in queue/msg.
//	ENVELOPE sender=<S> rcpts=R1,R2
//	                    the newest committed message has this envelope
//	                    (queue.ReadEnvelope; <> is the null sender).
//	MSG: LINE           the next line of the newest message's content
//	                    (as queued: LF line ends, dots unstuffed).
//	MSG~ GLOB           likewise, matching GLOB.
//	MSGEND              the newest message's content has no more lines.
//	REPEAT N ... END    the lines in between, N times (no nesting).
//
// Checked for every scenario besides its own directives: each reply line
// is a well-formed reply whose enhanced status code (RFC 3463) has the
// class of its basic code; only the greeting, the HELO/EHLO reply and 354
// may go without one (RFC 2034 section 3). After the session queue/tmp
// must be empty: nothing refused or aborted is left behind.

import (
	"bufio"
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"goqmail/internal/logline"
	"goqmail/internal/queue"
	"goqmail/internal/route/dnstest"
)

// Waits of the harness. A reply may take as long as the server's shortest
// timeout in the scripts (timeoutsmtpd 1) plus slack; silence is judged
// after a short quiet period, which is enough on loopback.
const (
	dialogReplyWait = 5 * time.Second
	dialogQuietWait = 100 * time.Millisecond
)

func TestDialogs(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "dialogs", "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no dialog scripts in testdata/dialogs")
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txt")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			steps, err := parseDialog(file)
			if err != nil {
				t.Fatal(err)
			}
			runDialog(t, file, steps)
		})
	}
}

// dialogStep is one directive with its place in the script.
type dialogStep struct {
	line int
	verb string // "control", "C:", "S~", "QUEUED", ...
	arg  string
}

func (s dialogStep) String() string { return fmt.Sprintf("line %d: %s %s", s.line, s.verb, s.arg) }

var dialogVerbs = []string{"control", "nocontrol", "tcprules", "noqueue", "listener", "certificate", "authuser", "authdown", "grant", "queuefree",
	"dnsfail", "dnsdrop", "dns", "peer", "milterdown", "milter", "script", "C:", "C>", "S:", "S~", "CLOSED", "OPEN",
	"HANGUP", "SLEEP", "CLOCK", "QUEUED", "ENVELOPE", "MSG:", "MSG~", "MSGEND", "REPEAT", "END"}

// parseDialog reads a script and expands REPEAT blocks.
func parseDialog(file string) ([]dialogStep, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var steps []dialogStep
	repeat := -1 // index in steps where the open REPEAT block starts
	count := 0
	for i, text := range strings.Split(string(data), "\n") {
		text = strings.TrimSuffix(text, "\r")
		if strings.TrimSpace(text) == "" || text[0] == '#' {
			continue
		}
		st, err := parseDialogLine(i+1, text)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		switch st.verb {
		case "REPEAT":
			if repeat >= 0 {
				return nil, fmt.Errorf("%s: %v: nested REPEAT", file, st)
			}
			count, err = strconv.Atoi(st.arg)
			if err != nil || count < 1 {
				return nil, fmt.Errorf("%s: %v: want a count", file, st)
			}
			repeat = len(steps)
		case "END":
			if repeat < 0 {
				return nil, fmt.Errorf("%s: %v: END without REPEAT", file, st)
			}
			block := slices.Clone(steps[repeat:])
			for range count - 1 {
				steps = append(steps, block...)
			}
			repeat = -1
		default:
			steps = append(steps, st)
		}
	}
	if repeat >= 0 {
		return nil, fmt.Errorf("%s: REPEAT without END", file)
	}
	return steps, nil
}

func parseDialogLine(n int, text string) (dialogStep, error) {
	for _, v := range dialogVerbs {
		rest, ok := strings.CutPrefix(text, v)
		if !ok || rest != "" && rest[0] != ' ' {
			continue
		}
		return dialogStep{line: n, verb: v, arg: strings.TrimPrefix(rest, " ")}, nil
	}
	return dialogStep{}, fmt.Errorf("line %d: unknown directive %q", n, text)
}

// dialogUnescape decodes the escapes of C> lines.
func dialogUnescape(s string) ([]byte, error) {
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b = append(b, s[i])
			continue
		}
		if i+1 >= len(s) {
			return nil, errors.New("backslash at end of line")
		}
		i++
		switch s[i] {
		case 'r':
			b = append(b, '\r')
		case 'n':
			b = append(b, '\n')
		case 't':
			b = append(b, '\t')
		case '\\':
			b = append(b, '\\')
		case 'x':
			if i+2 >= len(s) {
				return nil, errors.New(`\x needs two hex digits`)
			}
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return nil, fmt.Errorf(`bad \x escape: %w`, err)
			}
			b = append(b, byte(v))
			i += 2
		case '(':
			end := strings.IndexByte(s[i:], ')')
			num, text, ok := strings.Cut(s[i+1:i+max(end, 0)], "*")
			n, err := strconv.Atoi(num)
			if end < 0 || !ok || err != nil || n < 0 {
				return nil, errors.New(`want \(N*TEXT)`)
			}
			unit, err := dialogUnescape(text)
			if err != nil {
				return nil, err
			}
			b = append(b, bytes.Repeat(unit, n)...)
			i += end
		default:
			return nil, fmt.Errorf(`unknown escape \%c`, s[i])
		}
	}
	return b, nil
}

// dialogShort quotes sent bytes for the transcript, cutting long runs.
func dialogShort(b []byte) string {
	if len(b) <= 200 {
		return strconv.Quote(string(b))
	}
	return fmt.Sprintf("%s ... %s (%d bytes)", strconv.Quote(string(b[:100])), strconv.Quote(string(b[len(b)-60:])), len(b))
}

// dialogGlob matches s against pattern, where '*' is any run of bytes.
func dialogGlob(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return len(s) >= len(last) && strings.HasSuffix(s, last)
}

// dialogEnv is one scenario's server side.
type dialogEnv struct {
	root    string
	control string
	layout  queue.Layout
	srv     *Server
	cfg     *Config
	logs    *dialogLog
	noQueue bool
	kind    Kind
	auth    *fakeAuth      // nil: no Authenticator
	grants  *fakeGrants    // nil: no RelayGrants
	roots   *x509.CertPool // trusts the "certificate" one
	// queueFree is what the fake free-space reading says; nil: no check.
	queueFree *int64
	// dns is the policy DNS server's zone, dnsFail and dnsDrop its
	// broken names; peer the client's address; clock the server's
	// clock when the script moves it.
	dns              []string
	dnsFail, dnsDrop []string
	peer             string
	clock            *dialogClock
}

// dialogClock is a server clock the script moves (CLOCK).
type dialogClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *dialogClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *dialogClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// dialogLog collects the log lines of both servers for failure messages.
type dialogLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *dialogLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *dialogLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// dialogSetup makes the scenario directory and writes its control files.
// The directory is short on purpose: a Unix socket path has 108 bytes.
func dialogSetup(t *testing.T, steps []dialogStep) *dialogEnv {
	root, err := os.MkdirTemp("", "smtpd-dialog-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	env := &dialogEnv{root: root, control: filepath.Join(root, "control"),
		layout: queue.Layout{Root: filepath.Join(root, "queue")}, logs: &dialogLog{}}
	if err := os.Mkdir(env.control, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, value string) {
		if err := os.WriteFile(filepath.Join(env.control, name), []byte(value), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("me", "mail.example.org\n")
	write("rcpthosts", "example.org\n")
	var rules, milters strings.Builder
	for _, st := range steps {
		switch st.verb {
		case "control":
			name, value, _ := strings.Cut(st.arg, " ")
			if name == "" || strings.ContainsAny(name, "/.") && name != "tcp.smtp" {
				t.Fatalf("%v: bad control name", st)
			}
			write(name, strings.ReplaceAll(strings.ReplaceAll(value, `\n`, "\n"), "$ROOT", root)+"\n")
		case "nocontrol":
			if err := os.Remove(filepath.Join(env.control, st.arg)); err != nil {
				t.Fatalf("%v: %v", st, err)
			}
		case "tcprules":
			rules.WriteString(strings.ReplaceAll(st.arg, "$ROOT", root) + "\n")
		case "noqueue":
			env.noQueue = true
		case "listener":
			if env.kind, err = ParseKind(st.arg); err != nil {
				t.Fatalf("%v: %v", st, err)
			}
		case "certificate":
			env.roots = writeTestCert(t, filepath.Join(env.control, "servercert.pem"))
		case "authuser", "authdown":
			if env.auth == nil {
				env.auth = &fakeAuth{}
			}
			f := strings.Fields(st.arg)
			switch {
			case st.verb == "authdown":
				env.auth.down = true
			case len(f) < 3:
				t.Fatalf("%v: want LOGIN PASSWORD USER [OWNS...]", st)
			default:
				env.auth.add(f[0], f[1], f[2], f[3:]...)
			}
		case "dns":
			env.dns = append(env.dns, st.arg)
		case "dnsfail":
			env.dnsFail = append(env.dnsFail, st.arg)
		case "dnsdrop":
			env.dnsDrop = append(env.dnsDrop, st.arg)
		case "peer":
			env.peer = st.arg
		case "CLOCK":
			env.clock = &dialogClock{t: time.Now()}
		case "milter":
			fmt.Fprintf(&milters, "inet:%s %s\n", startFakeMilter(t).Addr, st.arg)
		case "milterdown":
			fmt.Fprintf(&milters, "inet:127.0.0.1:%d %s\n", closedPort(t), st.arg)
		case "script":
			name, text, _ := strings.Cut(st.arg, " ")
			if name == "" || strings.Contains(name, "/") {
				t.Fatalf("%v: bad script name", st)
			}
			text = strings.ReplaceAll(strings.ReplaceAll(text, `\n`, "\n"), "$ROOT", root)
			if err := os.WriteFile(filepath.Join(root, name), []byte(text+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		case "queuefree":
			n, err := strconv.ParseInt(st.arg, 10, 64)
			if err != nil {
				t.Fatalf("%v: %v", st, err)
			}
			env.queueFree = &n
		case "grant":
			env.grants = &fakeGrants{}
			switch st.arg {
			case "yes":
				env.grants.ips = []netip.Addr{netip.MustParseAddr("127.0.0.1")}
			case "no":
			case "error":
				env.grants.err = errors.New("grants file unreadable")
			default:
				t.Fatalf("%v: want yes, no or error", st)
			}
		}
	}
	if rules.Len() > 0 {
		write("tcp.smtp", rules.String())
	}
	if len(env.dns)+len(env.dnsFail)+len(env.dnsDrop) > 0 {
		srv := dnstest.Start(t, strings.Join(env.dns, "\n"))
		for _, n := range env.dnsFail {
			srv.ServFail(n)
		}
		for _, n := range env.dnsDrop {
			srv.Drop(n)
		}
		if _, err := os.Stat(filepath.Join(env.control, "dnsservers")); err != nil {
			write("dnsservers", srv.Addr+"\n")
		}
	}
	// goqmail install makes it, owned by smtpd's account (greylisting).
	if err := os.Mkdir(filepath.Join(root, "greylist"), 0o700); err != nil {
		t.Fatal(err)
	}
	if milters.Len() > 0 {
		write("milters", milters.String())
	}
	return env
}

// start starts the queue and the SMTP server and returns the SMTP
// address.
func (env *dialogEnv) start(t *testing.T) string {
	cfg, _, err := LoadConfig(env.control)
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	env.cfg = cfg
	// The SMTP server runs in this process, so its uid is ours: the queue
	// trusts its "from the network" flag only from that uid (SMTPDUID 0,
	// the zero value, held only when the tests ran as root).
	q := &queue.Server{Layout: env.layout, Log: logline.NewTo(env.logs, "queue"), SendUID: -1, SMTPDUID: os.Getuid()}
	if err := q.Start(); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(env.root, "submit.sock")
	if !env.noQueue {
		qln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
		if err != nil {
			t.Fatal(err)
		}
		go q.ServeSubmit(qln)
		// Only the listener is closed: the server keeps idle submit
		// connections for later sessions, and the queue's goroutines for
		// them end with the test binary.
		t.Cleanup(func() { qln.Close() })
	}

	env.srv = &Server{SubmitSocket: sock, Log: logline.NewTo(env.logs, "smtpd")}
	if env.clock != nil {
		env.srv.Now = env.clock.now
	}
	if n := env.queueFree; n != nil {
		env.srv.QueueFree = func() (int64, error) { return *n, nil }
	}
	if env.auth != nil {
		env.srv.Auth = env.auth
	}
	if env.grants != nil {
		env.srv.Grants = env.grants
	}
	// As cmd/goqmail-smtpd wires them; the checks do nothing unless the
	// scenario turns them on.
	env.srv.MessageChecks = []MessageCheckFactory{env.srv.AuthCheck}
	env.srv.DropHeaders = []HeaderDropper{env.srv.DropForgedAuthResults}
	// A DMARC record's pct= draws 0: the policy always applies.
	env.srv.dmarcSample = func() int { return 0 }
	env.srv.SetConfig(cfg)
	if err := env.srv.LoadGreylist(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go env.srv.ServeKind(ln, env.kind)
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// waitSessions waits for every SMTP session to end.
func (env *dialogEnv) waitSessions() bool {
	done := make(chan struct{})
	go func() { env.srv.wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(dialogReplyWait):
		return false
	}
}

// messages returns the ids of the committed messages, oldest first (ids
// grow with arrival).
func (env *dialogEnv) messages() ([]string, error) {
	ents, err := os.ReadDir(env.layout.MsgDir())
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range ents {
		if id, suf, ok := queue.SplitName(e.Name()); ok && suf == "" {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// content returns the newest message's id and content lines.
func (env *dialogEnv) content() (string, []string, error) {
	ids, err := env.messages()
	if err != nil || len(ids) == 0 {
		return "", nil, fmt.Errorf("no queued message (%v)", err)
	}
	id := ids[len(ids)-1]
	f, err := os.Open(env.layout.Msg(id))
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", nil, err
	}
	c, err := queue.ReadContent(f, st.Size())
	if err != nil {
		return "", nil, err
	}
	b, err := io.ReadAll(c.Reader(f))
	if err != nil {
		return "", nil, err
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		return "", nil, fmt.Errorf("msg %s: content does not end with a line end: %q", id, b)
	}
	return id, strings.Split(strings.TrimSuffix(string(b), "\n"), "\n"), nil
}

// dialogClient is the test's side of one session.
type dialogClient struct {
	t          *testing.T
	file       string
	conn       net.Conn
	br         *bufio.Reader
	pending    []byte
	transcript []string
	env        *dialogEnv

	replies  int  // complete replies read
	inReply  bool // the last line read was a continuation line
	exempt   bool // the current reply may go without enhanced codes
	code     string
	msgID    string
	msgLines []string
	msgPos   int
}

// dialogEnhanced is a reply line with an enhanced status code of the same
// class (RFC 3463 section 2: class.subject.detail, 1 to 3 digits each).
var dialogEnhanced = regexp.MustCompile(`^([245])\d\d[ -]([245])\.\d{1,3}\.\d{1,3}( |$)`)

func (c *dialogClient) fail(st dialogStep, format string, args ...any) {
	c.t.Helper()
	c.t.Fatalf("%s:%d: %s %s: %s\n--- transcript\n%s\n--- log\n%s", c.file, st.line, st.verb, st.arg,
		fmt.Sprintf(format, args...), strings.Join(c.transcript, "\n"), c.env.logs)
}

func (c *dialogClient) send(st dialogStep) {
	if len(c.pending) == 0 {
		return
	}
	c.conn.SetWriteDeadline(time.Now().Add(dialogReplyWait))
	if _, err := c.conn.Write(c.pending); err != nil {
		c.fail(st, "write: %v", err)
	}
	c.pending = c.pending[:0]
}

// readReply reads one reply line and checks its form, which every scenario
// gets for free.
func (c *dialogClient) readReply(st dialogStep) string {
	c.conn.SetReadDeadline(time.Now().Add(dialogReplyWait))
	line, err := c.br.ReadString('\n')
	if err != nil {
		c.fail(st, "reading reply: %v (partial %q)", err, line)
	}
	c.transcript = append(c.transcript, "S: "+strings.TrimRight(line, "\r\n"))
	text, ok := strings.CutSuffix(line, "\r\n")
	if !ok || strings.ContainsRune(text, '\r') {
		c.fail(st, "reply line %q does not end with one CRLF", line)
	}
	if len(text) < 3 || text[0] < '2' || text[0] > '5' || strings.Trim(text[:3], "0123456789") != "" ||
		len(text) > 3 && text[3] != ' ' && text[3] != '-' {
		c.fail(st, "malformed reply line %q", text)
	}
	if !c.inReply {
		c.code = text[:3]
		first := strings.TrimLeft(text[3:], " -")
		greeting := c.replies == 0 && c.code == "220"
		hello := c.code == "250" && first == c.env.cfg.Greeting
		// 334 carries a base64 challenge and nothing else (RFC 4954 4).
		c.exempt = greeting || hello || c.code == "354" || c.code == "334"
	} else if text[:3] != c.code {
		c.fail(st, "reply line %q continues a %s reply", text, c.code)
	}
	if !c.exempt {
		if m := dialogEnhanced.FindStringSubmatch(text); m == nil || m[1] != m[2] {
			c.fail(st, "reply line %q has no enhanced status code of its class", text)
		}
	}
	c.inReply = len(text) > 3 && text[3] == '-'
	if !c.inReply {
		c.replies++
	}
	return text
}

// expectClosed checks that the server has closed the connection, sending
// nothing more.
func (c *dialogClient) expectClosed(st dialogStep) {
	c.conn.SetReadDeadline(time.Now().Add(dialogReplyWait))
	b, err := io.ReadAll(c.br)
	if len(b) > 0 {
		c.fail(st, "want the connection closed, got %q", b)
	}
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		c.fail(st, "want the connection closed: %v", err)
	}
}

func (c *dialogClient) expectOpen(st dialogStep) {
	if n := c.br.Buffered(); n > 0 {
		b, _ := c.br.Peek(n)
		c.fail(st, "unexpected data %q", b)
	}
	c.conn.SetReadDeadline(time.Now().Add(dialogQuietWait))
	var b [512]byte
	n, err := c.conn.Read(b[:])
	var ne net.Error
	if n > 0 || !errors.As(err, &ne) || !ne.Timeout() {
		c.fail(st, "want the connection open and quiet, got %q, %v", b[:n], err)
	}
}

func (c *dialogClient) checkEnvelope(st dialogStep) {
	sender, rcpts, ok := strings.Cut(strings.TrimPrefix(st.arg, "sender=<"), "> rcpts=")
	if !ok || !strings.HasPrefix(st.arg, "sender=<") {
		c.fail(st, "want ENVELOPE sender=<S> rcpts=R1,R2")
	}
	ids, err := c.env.messages()
	if err != nil || len(ids) == 0 {
		c.fail(st, "no queued message (%v)", err)
	}
	e, err := queue.ReadEnvelope(c.env.layout.Msg(ids[len(ids)-1]))
	if err != nil {
		c.fail(st, "%v", err)
	}
	if e.Sender != sender || strings.Join(e.Rcpts, ",") != rcpts {
		c.fail(st, "envelope is sender=<%s> rcpts=%s", e.Sender, strings.Join(e.Rcpts, ","))
	}
}

// nextMsgLine returns the next content line of the newest message; a
// newer message than the last one looked at starts again at its top.
func (c *dialogClient) nextMsgLine(st dialogStep) (string, bool) {
	id, lines, err := c.env.content()
	if err != nil {
		c.fail(st, "%v", err)
	}
	if id != c.msgID {
		c.msgID, c.msgLines, c.msgPos = id, lines, 0
	}
	if c.msgPos >= len(c.msgLines) {
		return "", false
	}
	c.msgPos++
	return c.msgLines[c.msgPos-1], true
}

func runDialog(t *testing.T, file string, steps []dialogStep) *dialogEnv {
	env := dialogSetup(t, steps)
	addr := env.start(t)
	var d net.Dialer
	if env.peer != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(env.peer)}
	}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := &dialogClient{t: t, file: file, conn: conn, br: bufio.NewReader(conn), env: env}
	sessionOver := false
	for _, st := range steps {
		switch st.verb {
		case "control", "nocontrol", "tcprules", "noqueue", "listener", "certificate", "authuser", "authdown", "grant", "queuefree",
			"dns", "dnsfail", "dnsdrop", "peer", "milter", "milterdown", "script":
			if len(c.transcript) > 0 {
				c.fail(st, "control files are set before the session")
			}
			continue
		case "C:", "C>":
			if sessionOver {
				c.fail(st, "the session has ended")
			}
			b := []byte(st.arg + "\r\n")
			if st.verb == "C>" {
				if b, err = dialogUnescape(st.arg); err != nil {
					c.fail(st, "%v", err)
				}
			}
			c.pending = append(c.pending, b...)
			c.transcript = append(c.transcript, st.verb+" "+dialogShort(b))
			continue
		}
		c.send(st)
		switch st.verb {
		case "S:", "S~":
			if sessionOver {
				c.fail(st, "the session has ended")
			}
			got := c.readReply(st)
			if st.verb == "S:" && got != st.arg || st.verb == "S~" && !dialogGlob(st.arg, got) {
				c.fail(st, "got reply %q", got)
			}
		case "CLOSED":
			c.expectClosed(st)
			sessionOver = true
		case "OPEN":
			c.expectOpen(st)
			sessionOver = true
		case "HANGUP":
			conn.Close()
			sessionOver = true
		case "CLOCK":
			d, err := time.ParseDuration(st.arg)
			if err != nil {
				c.fail(st, "want a duration such as 5m")
			}
			env.clock.add(d)
		case "SLEEP":
			ms, err := strconv.Atoi(st.arg)
			if err != nil {
				c.fail(st, "want milliseconds")
			}
			time.Sleep(time.Duration(ms) * time.Millisecond)
		case "QUEUED":
			ids, err := env.messages()
			if err != nil {
				c.fail(st, "%v", err)
			}
			if strconv.Itoa(len(ids)) != st.arg {
				c.fail(st, "%d messages queued", len(ids))
			}
		case "ENVELOPE":
			c.checkEnvelope(st)
		case "MSG:", "MSG~":
			got, ok := c.nextMsgLine(st)
			if !ok {
				c.fail(st, "message %s has no more lines", c.msgID)
			}
			if st.verb == "MSG:" && got != st.arg || st.verb == "MSG~" && !dialogGlob(st.arg, got) {
				c.fail(st, "message %s line %d is %q", c.msgID, c.msgPos, got)
			}
		case "MSGEND":
			if got, ok := c.nextMsgLine(st); ok {
				c.fail(st, "message %s goes on with %q", c.msgID, got)
			}
		}
	}
	last := dialogStep{line: 0, verb: "(end of script)"}
	if !sessionOver {
		c.fail(last, "a script ends its session with CLOSED, OPEN or HANGUP")
	}
	conn.Close()
	if !env.waitSessions() {
		c.fail(last, "the session did not end after the client closed")
	}
	// The queue drops an aborted or half-sent message when it reads the
	// abort or the end of the submit connection, just after the session.
	deadline := time.Now().Add(dialogReplyWait)
	for {
		ents, err := os.ReadDir(env.layout.TmpDir())
		if err != nil {
			c.fail(last, "%v", err)
		}
		if len(ents) == 0 {
			break
		}
		if time.Now().After(deadline) {
			c.fail(last, "queue/tmp still holds %s", ents[0].Name())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return env
}

// closedPort is a loopback port nobody listens on (for a milter or a
// service that is down).
func closedPort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
