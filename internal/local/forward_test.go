package local

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"goqmail/internal/proto"
)

func TestForwardsGoAsOneMessageAfterOtherLines(t *testing.T) {
	e := newEnv(t)
	q := newFakeQueue(t, proto.Result{OK: true, ID: "00000000000000ab"})
	e.w.SubmitSocket = q.path
	e.write(".qmail", "&a@example.net\n./Maildir/\nbob\n|echo hello\n9x@example.org\n", 0o600)
	res, text := e.deliver(testMsg)
	expect(t, res, text, proto.ResultSuccess, "did 1+3+1/qp 00000000000000ab/hello")
	got := q.submissions()
	want := []submission{{
		sender: "s@example.org",
		rcpts:  []string{"a@example.net", "bob@example.test", "9x@example.org"},
		data:   "Delivered-To: u@example.test\n" + testMsg,
	}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("submitted %+v\nwant %+v", got, want)
	}
}

func TestForwardSender(t *testing.T) {
	tests := []struct {
		name, sender string
		owner        bool
		want         string
	}{
		{"plain", "s@example.org", false, "s@example.org"},
		{"owner file", "s@example.org", true, "u-list-owner@example.test"},
		{"null sender kept", "", true, ""},
		{"double bounce kept", "#@[]", true, "#@[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t).ext("list")
			q := newFakeQueue(t, proto.Result{OK: true, ID: "0000000000000001"})
			e.w.SubmitSocket = q.path
			e.req.Sender = tt.sender
			e.write(".qmail-list", "&a@example.net\n", 0o600)
			if tt.owner {
				e.write(".qmail-list-owner", "&owner@example.net\n", 0o600)
			}
			res, text := e.deliver(testMsg)
			expect(t, res, text, proto.ResultSuccess, "did 0+1+0/qp 0000000000000001/")
			if got := q.submissions(); len(got) != 1 || got[0].sender != tt.want {
				t.Fatalf("submitted %+v, want sender %q", got, tt.want)
			}
		})
	}
}

func TestForwardAfterExit99(t *testing.T) {
	e := newEnv(t)
	q := newFakeQueue(t, proto.Result{OK: true, ID: "0000000000000002"})
	e.w.SubmitSocket = q.path
	e.write(".qmail", "&a@example.net\n|exit 99\n&b@example.net\n./Maildir/\n", 0o600)
	res, text := e.deliver(testMsg)
	expect(t, res, text, proto.ResultSuccess, "did 0+1+1/qp 0000000000000002/")
	if got := q.submissions(); len(got) != 1 || !reflect.DeepEqual(got[0].rcpts, []string{"a@example.net"}) {
		t.Fatalf("submitted %+v", got)
	}
	if len(e.maildirFiles("Maildir")) != 0 {
		t.Fatal("line after exit 99 delivered")
	}
}

func TestForwardFailures(t *testing.T) {
	tests := []struct {
		name   string
		result *proto.Result // nil: no socket configured
		res    byte
		text   string
	}{
		{"queue refuses for good", &proto.Result{Text: "qq permanent problem (#5.3.0)"}, proto.ResultPermanent, "Unable to forward message: qq permanent problem (#5.3.0)"},
		{"queue refuses for now", &proto.Result{Temporary: true, Text: "qq write error or disk full (#4.3.0)"}, proto.ResultDeferral, "Unable to forward message: qq write error"},
		{"no socket", nil, proto.ResultDeferral, "no queue submit socket"},
		{"socket missing", &proto.Result{}, proto.ResultDeferral, "Unable to forward message: connect to queue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.result != nil {
				e.w.SubmitSocket = newFakeQueue(t, *tt.result).path
			}
			if tt.name == "socket missing" {
				e.w.SubmitSocket = filepath.Join(t.TempDir(), "none.sock")
			}
			e.write(".qmail", "./Maildir/\n&a@example.net\n", 0o600)
			res, text := e.deliver(testMsg)
			expect(t, res, text, tt.res, tt.text)
			// qmail's caveat: the maildir line already happened.
			if len(e.maildirFiles("Maildir")) != 1 {
				t.Fatal("maildir line not done before the forward")
			}
		})
	}
}

func TestXBitAllowsForwards(t *testing.T) {
	e := newEnv(t)
	q := newFakeQueue(t, proto.Result{OK: true, ID: "0000000000000003"})
	e.w.SubmitSocket = q.path
	e.write(".qmail", "# list\n&a@example.net\nb@example.net\n", 0o700)
	res, text := e.deliver(testMsg)
	expect(t, res, text, proto.ResultSuccess, "did 0+2+0/")
}

func TestDotForward(t *testing.T) {
	tests := []struct {
		name      string
		forward   string
		mode      os.FileMode
		res       byte
		text      string
		rcpts     []string
		inMaildir int
	}{
		{"forward only", "bob@example.net\n", 0o644, proto.ResultSuccess, "did 0+1+0/", []string{"bob@example.net"}, 0},
		{"forward and keep a copy", "# keep one\n\\u, bob@example.net\n", 0o600, proto.ResultSuccess, "did 1+1+0/", []string{"bob@example.net"}, 1},
		{"program and file", "\"|echo hi\", HOME/box\n", 0o600, proto.ResultSuccess, "did 1+0+1/hi", nil, 0},
		{"comments only: default delivery", "# nothing\n", 0o600, proto.ResultSuccess, "did 1+0+0/", nil, 1},
		{"writable", "bob@example.net\n", 0o666, proto.ResultDeferral, "Uh-oh: .forward file is writable. (#4.7.0)", nil, 0},
		{"bad syntax", "bob@example.net, \"unterminated\n", 0o600, proto.ResultDeferral, "Uh-oh: .forward file:", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			q := newFakeQueue(t, proto.Result{OK: true, ID: "0000000000000004"})
			e.w.SubmitSocket = q.path
			e.req.DotForward = true
			e.write(".forward", strings.ReplaceAll(tt.forward, "HOME", e.home), tt.mode)
			res, text := e.deliver(testMsg)
			expect(t, res, text, tt.res, tt.text)
			var rcpts []string
			for _, s := range q.submissions() {
				rcpts = append(rcpts, s.rcpts...)
			}
			if !reflect.DeepEqual(rcpts, tt.rcpts) {
				t.Fatalf("forwarded to %q, want %q", rcpts, tt.rcpts)
			}
			if strings.Contains(tt.forward, "HOME/box") && !strings.Contains(e.read("box"), "body line") {
				t.Fatal("file target not delivered")
			}
			if got := len(e.maildirFiles("Maildir")); got != tt.inMaildir {
				t.Fatalf("%d in Maildir, want %d", got, tt.inMaildir)
			}
		})
	}
}

func TestDotForwardIgnoredWhenOff(t *testing.T) {
	e := newEnv(t)
	e.write(".forward", "bob@example.net\n", 0o600)
	res, text := e.deliver(testMsg)
	expect(t, res, text, proto.ResultSuccess, "did 1+0+0/")
	// A .qmail file wins over .forward even when dot-forward is on.
	e = newEnv(t)
	e.req.DotForward = true
	e.write(".forward", "bob@example.net\n", 0o600)
	e.write(".qmail", "./Maildir/\n", 0o600)
	res, text = e.deliver(testMsg)
	expect(t, res, text, proto.ResultSuccess, "did 1+0+0/")
}

func TestAliases(t *testing.T) {
	tests := []struct {
		name    string
		ext     string
		aliases string
		res     byte
		text    string
		rcpts   []string
	}{
		{"address", "Postmaster", "postmaster: root\nroot: admin@example.net, bob\n", proto.ResultSuccess, "did 0+2+0/", []string{"admin@example.net", "bob@example.test"}},
		{"program", "Prog", "prog: \"|echo via alias $DEFAULT\"\n", proto.ResultSuccess, "did 0+0+1/via alias Prog", nil},
		{"not an alias: .qmail-default decides", "other", "postmaster: root\n", proto.ResultSuccess, "did 1+0+0/", nil},
		{"file target refused", "f", "f: /tmp/x\n", proto.ResultDeferral, "file delivery to /tmp/x", nil},
		{"only a loop", "a", "a: b\nb: a\n", proto.ResultPermanent, "(#5.4.6)", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t).ext(tt.ext)
			q := newFakeQueue(t, proto.Result{OK: true, ID: "0000000000000005"})
			e.w.SubmitSocket = q.path
			path := filepath.Join(t.TempDir(), "aliases")
			os.WriteFile(path, []byte(tt.aliases), 0o644)
			e.req.Aliases = path
			e.write(".qmail-default", "./Maildir/\n", 0o600)
			res, text := e.deliver(testMsg)
			expect(t, res, text, tt.res, tt.text)
			var rcpts []string
			for _, s := range q.submissions() {
				rcpts = append(rcpts, s.rcpts...)
			}
			if !reflect.DeepEqual(rcpts, tt.rcpts) {
				t.Fatalf("forwarded to %q, want %q", rcpts, tt.rcpts)
			}
		})
	}
}

func TestAliasesFileMissingDefers(t *testing.T) {
	e := newEnv(t).ext("postmaster")
	e.req.Aliases = filepath.Join(t.TempDir(), "none")
	res, text := e.deliver(testMsg)
	expect(t, res, text, proto.ResultDeferral, "Unable to read the aliases file")
}
