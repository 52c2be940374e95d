package inject

import (
	"bufio"
	"bytes"
	"flag"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/complete")

// testConfig is the fixed configuration of the golden tests: defaulthost
// without a dot, so that completing a bare user also shows defaultdomain.
func testConfig() Config {
	return Config{
		DefaultHost:   "host",
		DefaultDomain: "example.test",
		IDHost:        "id.example.test",
		Identity:      Identity{User: "alice", FullName: "Alice Liddell", SenderUser: "alice"},
		Now: func() time.Time {
			return time.Date(2026, 2, 3, 4, 5, 6, 0, time.FixedZone("", -5*3600))
		},
		PID: 4242,
	}
}

// process runs the command's pipeline on a message: Input (-i), SplitHeader,
// Complete, and the blank line between header and body.
func process(t testing.TB, c *Completer, in []byte) ([]byte, Result) {
	br := bufio.NewReader(NewInput(bytes.NewReader(in), false))
	h, start, err := SplitHeader(br, MaxHeader)
	if err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatal(err)
	}
	res := c.Complete(h)
	out := append(append(append(append([]byte(nil), res.Header...), '\n'), start...), rest...)
	return out, res
}

// golden renders what a golden file holds: the message, the -t
// recipients and the warnings.
func golden(out []byte, res Result) []byte {
	var b bytes.Buffer
	b.WriteString("-- message --\n")
	b.Write(out)
	b.WriteString("-- recipients --\n")
	for _, r := range res.Recipients {
		b.WriteString(r + "\n")
	}
	b.WriteString("-- warnings --\n")
	for _, w := range res.Warnings {
		b.WriteString(w + "\n")
	}
	return b.Bytes()
}

func TestCompleteGolden(t *testing.T) {
	ins, _ := filepath.Glob("testdata/complete/*.in")
	if len(ins) < 10 {
		t.Fatalf("only %d golden inputs", len(ins))
	}
	for _, in := range ins {
		name := strings.TrimSuffix(filepath.Base(in), ".in")
		t.Run(name, func(t *testing.T) {
			msg, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got := golden(process(t, NewCompleter(testConfig()), msg))
			path := strings.TrimSuffix(in, ".in") + ".golden"
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s:\n--- got\n%s\n--- want\n%s", name, path, got, want)
			}
		})
	}
}

// TestCompleteFacts states the golden files' main facts as assertions, so
// that an -update that breaks one cannot go unnoticed.
func TestCompleteFacts(t *testing.T) {
	read := func(name string) (string, Result) {
		msg, err := os.ReadFile("testdata/complete/" + name + ".in")
		if err != nil {
			t.Fatal(err)
		}
		out, res := process(t, NewCompleter(testConfig()), msg)
		return string(out), res
	}
	hasLine := func(out, line string) bool {
		return strings.HasPrefix(out, line+"\n") || strings.Contains(out, "\n"+line+"\n")
	}
	out, _ := read("minimal")
	for _, want := range []string{
		"Date: Tue, 03 Feb 2026 04:05:06 -0500",
		"Message-ID: <20260203090506.4242.1@id.example.test>",
		`From: "Alice Liddell" <alice@host.example.test>`,
		"Cc: recipient list not shown: ;",
	} {
		if !hasLine(out, want) {
			t.Errorf("minimal: no line %q in\n%s", want, out)
		}
	}
	if !strings.HasSuffix(out, "Subject: hello\n\nbody line\n") {
		t.Errorf("minimal: header or body not kept:\n%s", out)
	}

	msg, _ := os.ReadFile("testdata/complete/complete.in")
	if out, _ := read("complete"); out != string(msg) {
		t.Errorf("complete message changed:\n%s", out)
	}

	out, res := read("bcc")
	if strings.Contains(strings.ToLower(out), "bcc:") || strings.Contains(out, "carol") {
		t.Errorf("bcc: Bcc survived:\n%s", out)
	}
	if got := strings.Join(res.Recipients, " "); got != "bob@host.example.test carol@host.example.test dave@elsewhere.example.test" {
		t.Errorf("bcc: recipients %s", got)
	}
	if !hasLine(out, "To: bob@host.example.test") {
		t.Errorf("bcc: To not completed:\n%s", out)
	}

	out, _ = read("crlf")
	if strings.Contains(out, "\r\n") || !strings.HasSuffix(out, "\nline 1\nline 2 with lone \r cr\n") {
		t.Errorf("crlf: %q", out)
	}

	out, res = read("resent")
	if got := strings.Join(res.Recipients, " "); got != "eve@host.example.test frank@f.example grace@host.example.test" {
		t.Errorf("resent: recipients %s", got)
	}
	if strings.Contains(out, "grace") {
		t.Errorf("resent: Resent-Bcc survived:\n%s", out)
	}
	for _, want := range []string{"Resent-Date: Tue, 03 Feb 2026 04:05:06 -0500", `Resent-From: "Alice Liddell" <alice@host.example.test>`, "Date: Thu, 01 Jan 2026 10:00:00 +0000"} {
		if !hasLine(out, want) {
			t.Errorf("resent: no line %q in\n%s", want, out)
		}
	}
	if hasLine(out, "Cc: recipient list not shown: ;") || strings.Count(out, "Message-ID:") != 2 {
		t.Errorf("resent: wrong fields added:\n%s", out)
	}

	out, res = read("rewrite")
	wantTo := "To: \"Bob Smith\" <bob@mail.example.test> (Bob),joe@host.example.test ,  friends: ann@host.example.test, \"odd name\"@lit.example;\n"
	if !strings.Contains(out, wantTo) || !strings.Contains(out, "From: \"Alice L.\" <alice@host.example.test> (me)\n") ||
		!strings.Contains(out, "X-Not-Address: joe\n") || !strings.HasSuffix(out, "\n\nbody keeps joe and bob@mail\n") {
		t.Errorf("rewrite:\n%s", out)
	}
	if got := strings.Join(res.Recipients, " "); got != `bob@mail.example.test joe@host.example.test ann@host.example.test odd name@lit.example x@[192.0.2.1] y@a.b.example` {
		t.Errorf("rewrite: recipients %s", got)
	}

	out, res = read("unparseable")
	if !strings.Contains(out, "To: \"unterminated <bob@x.example>\n") || len(res.Warnings) != 2 ||
		strings.Join(res.Recipients, " ") != "ok@x.example" {
		t.Errorf("unparseable: %v %v\n%s", res.Recipients, res.Warnings, out)
	}

	out, _ = read("noheader")
	if !strings.HasSuffix(out, "recipient list not shown: ;\n\njust a body line\nsecond: line\n") {
		t.Errorf("noheader:\n%s", out)
	}
	out, _ = read("dropped")
	if strings.Contains(out, "Return-Path") || strings.Contains(out, "Content-Length") {
		t.Errorf("dropped:\n%s", out)
	}
	out, _ = read("fromline")
	if strings.Contains(out, "From alice") || !strings.HasSuffix(out, "\n\nFrom the body\n") {
		t.Errorf("fromline:\n%s", out)
	}
	_, res = read("dupes")
	if got := strings.Join(res.Recipients, " "); got != "a@x.example b@x.example B@x.example c@x.example d@x.example" {
		t.Errorf("dupes: recipients %s", got)
	}
}

func TestCompleteMessageIDsDiffer(t *testing.T) {
	c := NewCompleter(testConfig())
	a := c.Complete([]byte("Subject: a\n")).Header
	b := c.Complete([]byte("Subject: a\n")).Header
	if bytes.Equal(a, b) {
		t.Fatalf("two messages got the same header:\n%s", a)
	}
}

func TestCompletedHeaderParses(t *testing.T) {
	for _, name := range []string{"minimal", "rewrite", "folded", "eightbit", "resent"} {
		msg, _ := os.ReadFile("testdata/complete/" + name + ".in")
		out, _ := process(t, NewCompleter(testConfig()), msg)
		m, err := mail.ReadMessage(bytes.NewReader(out))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if _, err := m.Header.AddressList("From"); err != nil {
			t.Errorf("%s: From: %v", name, err)
		}
		if _, err := m.Header.Date(); err != nil {
			t.Errorf("%s: Date: %v", name, err)
		}
	}
}
