package local

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"goqmail/internal/proto"
)

func TestProgramExitCodes(t *testing.T) {
	tests := []struct {
		cmd  string
		res  byte
		text string
	}{
		{"exit 0", proto.ResultSuccess, "did 1+0+1/"},
		{"exit 99", proto.ResultSuccess, "did 0+0+1/"},
		{"exit 100", proto.ResultPermanent, "Program refused the message: exit status 100. (#5.0.0)"},
		{"exit 64", proto.ResultPermanent, "exit status 64"},
		{"exit 65", proto.ResultPermanent, "exit status 65"},
		{"exit 70", proto.ResultPermanent, "exit status 70"},
		{"exit 76", proto.ResultPermanent, "exit status 76"},
		{"exit 77", proto.ResultPermanent, "exit status 77"},
		{"exit 78", proto.ResultPermanent, "exit status 78"},
		{"exit 112", proto.ResultPermanent, "exit status 112"},
		{"exit 111", proto.ResultDeferral, "Program failed temporarily: exit status 111. (#4.0.0)"},
		{"exit 1", proto.ResultDeferral, "exit status 1."},
		{"exit 101", proto.ResultDeferral, "exit status 101"},
		{"exit 255", proto.ResultDeferral, "exit status 255"},
		{"kill -9 $$", proto.ResultDeferral, "Aack, child crashed. (#4.3.0)"},
		{"kill -TERM $$", proto.ResultDeferral, "Aack, child crashed. (#4.3.0)"},
		// The program's words are the report, as in qmail.
		{"echo 'No such list.'; exit 100", proto.ResultPermanent, "No such list."},
		{"echo busy >&2; exit 111", proto.ResultDeferral, "busy"},
		{"printf 'ok\\nmore\\n'; exit 0", proto.ResultSuccess, "did 1+0+1/ok/more"},
	}
	for _, tt := range tests {
		t.Run(tt.cmd, func(t *testing.T) {
			e := newEnv(t)
			e.write(".qmail", "|"+tt.cmd+"\n./Maildir/\n", 0o600)
			res, text := e.deliver(testMsg)
			expect(t, res, text, tt.res, tt.text)
			// Exit 0 goes on to the next line; 99 and failures do not.
			next := tt.cmd == "exit 0" || strings.HasPrefix(tt.cmd, "printf")
			if got := len(e.maildirFiles("Maildir")); (got == 1) != next {
				t.Fatalf("%d maildir deliveries after %q", got, tt.cmd)
			}
		})
	}
}

func TestProgramOutputIsOneBoundedLine(t *testing.T) {
	e := newEnv(t)
	e.write(".qmail", "|printf 'a\\tb\\001\\377\\n'; yes x | head -c 100000\n", 0o600)
	res, text := e.deliver(testMsg)
	if res != proto.ResultSuccess || !strings.HasPrefix(text, "did 0+0+1/a b??/x/x/") {
		t.Fatalf("report %c %q", res, text)
	}
	if len(text) > len("did 0+0+1/")+maxProgramOutput {
		t.Fatalf("report of %d bytes", len(text))
	}
	if strings.ContainsAny(text, "\n\r\x00") {
		t.Fatalf("report not one line: %q", text)
	}
}

func TestProgramTimeoutKillsItsGroup(t *testing.T) {
	e := newEnv(t)
	e.w.ProgramTimeout = 200 * time.Millisecond
	// The shell's child keeps the output pipe open; the group kill ends it.
	e.write(".qmail", "|sleep 30; echo done > after\n", 0o600)
	start := time.Now()
	res, text := e.deliver(testMsg)
	expect(t, res, text, proto.ResultDeferral, "Program timed out after 200ms. (#4.3.0)")
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("timeout took %v", d)
	}
	if e.exists("after") {
		t.Fatal("program went on after the timeout")
	}
}

// TestProgramTimeoutFromTheDelivery: control/timeoutprogram reaches the
// delivery process in each request and wins over the process's default
// (it was a constant hour, with no control file: issue 11, item 3).
func TestProgramTimeoutFromTheDelivery(t *testing.T) {
	e := newEnv(t)
	e.w.ProgramTimeout = time.Hour
	e.req.ProgramTimeout = 1
	e.write(".qmail", "|exec sleep 30\n", 0o600)
	res, text := e.deliver(testMsg)
	expect(t, res, text, proto.ResultDeferral, "Program timed out after 1s. (#4.3.0)")
}

func TestProgramLeavingABackgroundChild(t *testing.T) {
	e := newEnv(t)
	e.w.drainDelay = 100 * time.Millisecond
	e.write(".qmail", "|sleep 2 &\n", 0o600)
	start := time.Now()
	res, text := e.deliver(testMsg)
	expect(t, res, text, proto.ResultSuccess, "did 0+0+1/")
	if d := time.Since(start); d > time.Second {
		t.Fatalf("waited %v for a background child", d)
	}
}

// TestProgramSeesQmailEnvironmentAndMessage is the contract with .qmail
// programs: stdin is the message exactly (no Return-Path, no
// Delivered-To), read from the start by every program, the current
// directory is home, and the environment is exactly qmail-local's.
func TestProgramSeesQmailEnvironmentAndMessage(t *testing.T) {
	e := newEnv(t)
	e.req.Local, e.req.Dash, e.req.Ext = "u-list-Foo-bar", "-", "list-Foo-bar"
	e.req.Domain = "mail.example.test"
	e.req.Sender = "john doe@example.org"
	// The .qmail line records the environment sh -c got from us
	// (/proc/$$/environ is what was passed to execve); the script records
	// what a program started by that shell sees, which is the same plus
	// the PWD every shell exports.
	script := filepath.Join(e.home, "record.sh")
	os.WriteFile(script, []byte("#!/bin/sh\ncat > \"$1.stdin\"\ncat /proc/$$/environ > \"$1.scriptenv\"\npwd > \"$1.pwd\"\n"), 0o700)
	e.write(".qmail-list-default", "|cat /proc/$$/environ > one.env; "+script+" one\n|cat /proc/$$/environ > two.env; "+script+" two\n", 0o600)
	// The owner file goes with the full extension, as qmail's qmeox.
	e.write(".qmail-list-foo-bar-owner", "", 0o600)
	body := "Subject: binary\n\n\x00\x01\xff\r\nFrom x\nlast line without newline"
	res, text := e.deliver(body)
	expect(t, res, text, proto.ResultSuccess, "did 0+0+2/")

	for _, run := range []string{"one", "two"} {
		if got := e.read(run + ".stdin"); got != body {
			t.Fatalf("%s: stdin %q, want %q", run, got, body)
		}
		if got := strings.TrimSpace(e.read(run + ".pwd")); got != e.home {
			t.Fatalf("%s: cwd %q", run, got)
		}
		env := readEnv(e, run+".env")
		want := []string{
			"PATH=/usr/local/bin:/usr/bin:/bin",
			"SENDER=john doe@example.org",
			// -owner-default is not VERP'd: the plain owner address.
			"NEWSENDER=u-list-Foo-bar-owner@mail.example.test",
			"RECIPIENT=u-list-Foo-bar@mail.example.test",
			"USER=u",
			"HOME=" + e.home,
			"HOST=mail.example.test",
			"HOST2=mail.example",
			"HOST3=mail",
			"HOST4=mail",
			"LOCAL=u-list-Foo-bar",
			"EXT=list-Foo-bar",
			"EXT2=Foo-bar",
			"EXT3=bar",
			"EXT4=",
			"DEFAULT=Foo-bar",
			"DTLINE=Delivered-To: u-list-Foo-bar@mail.example.test\n",
			"RPLINE=Return-Path: <\"john doe\"@example.org>\n",
			"UFLINE=From john-doe@example.org Tue Mar 05 09:07:03 2024\n",
		}
		sort.Strings(want)
		if !reflect.DeepEqual(env, want) {
			t.Fatalf("%s: environment\n%q\nwant\n%q", run, env, want)
		}
		want = append(want, "PWD="+e.home)
		sort.Strings(want)
		if got := readEnv(e, run+".scriptenv"); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: script environment\n%q\nwant\n%q", run, got, want)
		}
	}
}

func readEnv(e *env, name string) []string {
	env := strings.Split(strings.TrimSuffix(e.read(name), "\x00"), "\x00")
	sort.Strings(env)
	return env
}

func TestProgramCannotChangeWhatLaterLinesDeliver(t *testing.T) {
	e := newEnv(t)
	// The program tries to overwrite its stdin; the next line must still
	// deliver the original message.
	e.write(".qmail", "|echo EVIL 1<>/dev/stdin; exit 0\n./Maildir/\n", 0o600)
	res, text := e.deliver(testMsg)
	if res != proto.ResultSuccess {
		// A refused write makes the shell's echo fail: still exit 0.
		t.Fatalf("report %c %q", res, text)
	}
	if got := e.maildirFiles("Maildir"); len(got) != 1 || got[0] != rpdt+testMsg {
		t.Fatalf("delivered %q", got)
	}
}
