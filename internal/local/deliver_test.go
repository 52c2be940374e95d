package local

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"goqmail/internal/proto"
)

const rpdt = "Return-Path: <s@example.org>\nDelivered-To: u@example.test\n"

func TestDefaultDeliveryStreamsToMaildir(t *testing.T) {
	for _, def := range []string{"./Maildir/\n", "", "./Maildir/"} {
		e := newEnv(t)
		e.req.DefaultDelivery = def
		res, text := e.deliver(testMsg)
		expect(t, res, text, proto.ResultSuccess, "did 1+0+0/")
		if got := e.maildirFiles("Maildir"); len(got) != 1 || got[0] != rpdt+testMsg {
			t.Fatalf("default %q delivered %q", def, got)
		}
	}
}

func TestEmptyQmailMeansDefaultDelivery(t *testing.T) {
	e := newEnv(t)
	e.write(".qmail", "", 0o700) // the x bit of an empty file does not apply
	res, text := e.deliver(testMsg)
	expect(t, res, text, proto.ResultSuccess, "did 1+0+0/")
	if len(e.maildirFiles("Maildir")) != 1 {
		t.Fatal("not delivered")
	}
}

func TestQmailFileLines(t *testing.T) {
	e := newEnv(t)
	os.Mkdir(filepath.Join(e.home, "Other"), 0o700)
	for _, d := range []string{"tmp", "new", "cur"} {
		os.Mkdir(filepath.Join(e.home, "Other", d), 0o700)
	}
	abs := filepath.Join(e.home, "abs-mbox")
	e.write(".qmail", "# comment\n./Maildir/\n./Other/\n./Mailbox\n"+abs+"\n", 0o600)
	res, text := e.deliver(testMsg)
	expect(t, res, text, proto.ResultSuccess, "did 4+0+0/")
	for _, dir := range []string{"Maildir", "Other"} {
		if got := e.maildirFiles(dir); len(got) != 1 || got[0] != rpdt+testMsg {
			t.Errorf("%s: %q", dir, got)
		}
	}
	wantMbox := "From s@example.org Tue Mar 05 09:07:03 2024\n" + rpdt +
		"Received: from x\nSubject: hi\n\nbody line\n>From here\n\n"
	for _, name := range []string{"Mailbox", "abs-mbox"} {
		if got := e.read(name); got != wantMbox {
			t.Errorf("%s:\n%q\nwant\n%q", name, got, wantMbox)
		}
	}
}

func TestSingleMboxLineStreams(t *testing.T) {
	e := newEnv(t)
	e.req.DefaultDelivery = "./Mailbox\n"
	res, text := e.deliver("Subject: x\n\nno newline")
	expect(t, res, text, proto.ResultSuccess, "did 1+0+0/")
	want := "From s@example.org Tue Mar 05 09:07:03 2024\n" + rpdt + "Subject: x\n\nno newline\n\n"
	if got := e.read("Mailbox"); got != want {
		t.Fatalf("mbox %q", got)
	}
}

func TestShortContentIsDeferredOnBothPaths(t *testing.T) {
	for _, qmail := range []string{"", "./Maildir/\n|cat > got\n", "./Mailbox\n"} {
		e := newEnv(t)
		if qmail != "" {
			e.write(".qmail", qmail, 0o600)
		}
		res, text := e.deliverSized("Subject: x\n\nshort", 1000)
		expect(t, res, text, proto.ResultDeferral, "ended early")
		if got := e.maildirFiles("Maildir"); len(got) != 0 {
			t.Errorf(".qmail %q: truncated message delivered", qmail)
		}
		if e.exists("got") || (e.exists("Mailbox") && e.read("Mailbox") != "") {
			t.Errorf(".qmail %q: truncated message reached a program or mbox", qmail)
		}
	}
}

func TestExtraContentIsNotDelivered(t *testing.T) {
	e := newEnv(t)
	e.write(".qmail", "./Maildir/\n./Mailbox\n", 0o600)
	res, text := e.deliverSized("Subject: x\n\nbody\nEXTRA", 17)
	expect(t, res, text, proto.ResultSuccess, "did 2+0+0/")
	if got := e.maildirFiles("Maildir"); got[0] != rpdt+"Subject: x\n\nbody\n" {
		t.Fatalf("delivered %q", got)
	}
}

func TestNoQmailForExtension(t *testing.T) {
	e := newEnv(t).ext("nosuch")
	res, text := e.deliver(testMsg)
	expect(t, res, text, proto.ResultPermanent, "Sorry, no mailbox here by that name. (#5.1.1)")
}

func TestDefaultFileMatches(t *testing.T) {
	e := newEnv(t).ext("list-Foo")
	e.write(".qmail-list-default", "|echo \"$DEFAULT\" > default.txt\n", 0o600)
	res, text := e.deliver(testMsg)
	expect(t, res, text, proto.ResultSuccess, "did 0+0+1/")
	if got := e.read("default.txt"); got != "Foo\n" {
		t.Fatalf("DEFAULT=%q", got)
	}
}

func TestHomeAndFileChecks(t *testing.T) {
	tests := []struct {
		name  string
		setup func(e *env)
		res   byte
		text  string
	}{
		{"home group-writable", func(e *env) { os.Chmod(e.home, 0o770) }, proto.ResultDeferral, "Uh-oh: home directory is writable. (#4.7.0)"},
		{"home world-writable", func(e *env) { os.Chmod(e.home, 0o703) }, proto.ResultDeferral, "Uh-oh: home directory is writable. (#4.7.0)"},
		{"home sticky", func(e *env) { os.Chmod(e.home, 0o700|os.ModeSticky) }, proto.ResultDeferral, "Home directory is sticky: user is editing his .qmail file. (#4.2.1)"},
		{"home missing", func(e *env) { e.req.Home = filepath.Join(e.home, "nope") }, proto.ResultDeferral, "Unable to switch to"},
		{"qmail writable", func(e *env) { e.write(".qmail", "./Maildir/\n", 0o620) }, proto.ResultDeferral, "Uh-oh: .qmail file is writable. (#4.7.0)"},
		{"qmail not a regular file", func(e *env) { os.Mkdir(filepath.Join(e.home, ".qmail"), 0o700) }, proto.ResultSuccess, "did 1+0+0/"},
		{"x bit: file line", func(e *env) { e.write(".qmail", "&a@b\n./Maildir/\n", 0o700) }, proto.ResultDeferral, "Uh-oh: .qmail has file delivery but has x bit set. (#4.7.0)"},
		{"x bit: program line", func(e *env) { e.write(".qmail", "|true\n", 0o744) }, proto.ResultDeferral, "Uh-oh: .qmail has prog delivery but has x bit set. (#4.7.0)"},
		{"+list", func(e *env) { e.write(".qmail", "+list\n./Maildir/\n", 0o600) }, proto.ResultDeferral, "has file delivery but has x bit set"},
		{"blank first line", func(e *env) { e.write(".qmail", "\n./Maildir/\n", 0o600) }, proto.ResultDeferral, "Uh-oh: first line of .qmail file is blank. (#4.2.1)"},
		{"blank default delivery", func(e *env) { e.req.DefaultDelivery = " \n./Maildir/\n" }, proto.ResultDeferral, "first line of .qmail file is blank"},
		{"missing maildir", func(e *env) { e.write(".qmail", "./Nope/\n", 0o600) }, proto.ResultDeferral, "Unable to chdir to maildir: no ~/Nope/ with tmp/ and new/. (#4.2.1)"},
		{"mbox in missing directory", func(e *env) { e.write(".qmail", "./no/box\n", 0o600) }, proto.ResultDeferral, "Unable to open ~/no/box: no such file or directory. (#4.2.1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tt.setup(e)
			res, text := e.deliver(testMsg)
			expect(t, res, text, tt.res, tt.text)
			if tt.res != proto.ResultSuccess && e.exists("Maildir") && len(e.maildirFiles("Maildir")) != 0 {
				t.Fatal("delivered anyway")
			}
		})
	}
}

func TestUnreadableQmailDefers(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("needs an ordinary user: root reads any file, so the .qmail cannot be unreadable")
	}
	e := newEnv(t)
	e.write(".qmail", "./Maildir/\n", 0o000)
	res, text := e.deliver(testMsg)
	expect(t, res, text, proto.ResultDeferral, "Unable to open .qmail: permission denied. (#4.3.0)")
}

func TestStopsAtFirstFailure(t *testing.T) {
	e := newEnv(t)
	e.write(".qmail", "./Mailbox\n|exit 111\n./Maildir/\n", 0o600)
	res, text := e.deliver(testMsg)
	expect(t, res, text, proto.ResultDeferral, "exit status 111")
	if len(e.maildirFiles("Maildir")) != 0 {
		t.Fatal("line after the failure was delivered")
	}
	if !strings.Contains(e.read("Mailbox"), "body line") {
		t.Fatal("line before the failure was not delivered")
	}
}

// TestHostileExtensions: extensions from the network never reach a file
// outside the home directory, whatever they hold.
func TestHostileExtensions(t *testing.T) {
	e := newEnv(t)
	outside := filepath.Dir(e.home)
	marker := filepath.Join(outside, "pwned")
	evil := "|touch " + marker + "\n"
	for _, name := range []string{".qmail-x", ".qmail-", ".qmail-default", ".qmail-:x", "x"} {
		os.WriteFile(filepath.Join(outside, name), []byte(evil), 0o600)
	}
	os.Mkdir(filepath.Join(e.home, ".qmail-sub"), 0o700)
	os.WriteFile(filepath.Join(e.home, ".qmail-sub", "x"), []byte(evil), 0o600)
	for _, ext := range []string{"../x", "..", "../", "a/b", "sub/x", "/../x", "..\x01", "x\x7f/..", "-/../../x", strings.Repeat("../", 400) + "x"} {
		e.ext(ext)
		res, text := e.deliver(testMsg)
		expect(t, res, text, proto.ResultPermanent, "no mailbox here")
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a .qmail outside home was run")
	}
}
