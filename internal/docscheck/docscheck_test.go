package docscheck

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"goqmail/internal/mdsection"
)

var update = flag.Bool("update", false, "rewrite the generated table of tests that need root in README.md")

// TestReadmeRootTestsUpToDate: README.md lists the tests that need root
// and those that need an ordinary user, from their skip messages.
func TestReadmeRootTestsUpToDate(t *testing.T) {
	tests, loose, err := SkipTests("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range loose {
		t.Errorf("%s: a skip about root should start \"needs root: \" or \"needs an ordinary user: \" (or use needRoot in test/e2e)", l)
	}
	roots := 0
	for _, st := range tests {
		if st.Root {
			roots++
		}
	}
	if roots < 5 {
		t.Fatalf("found only %d tests that need root: does SkipTests still read them right?", roots)
	}
	stale, err := mdsection.Sync("../../README.md", "root-tests",
		"generated from the tests' skip messages by `go test ./internal/docscheck -run TestReadmeRootTestsUpToDate -update`",
		skipTestsMarkdown(tests), *update)
	if err != nil {
		t.Fatal(err)
	}
	if stale && !*update {
		t.Fatal("the table of tests that need root in README.md is stale: run go test ./internal/docscheck -run TestReadmeRootTestsUpToDate -update")
	}
}

// TestDocsNameOnlyWhatExists reads every docs/*.md and README.md.
func TestDocsNameOnlyWhatExists(t *testing.T) {
	f, err := Load("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"init", "install", "queue", "relay"} {
		if !f.Subcommands[want] {
			t.Fatalf("subcommands read from cmd/goqmail lack %q: %v", want, f.Subcommands)
		}
	}
	files, _ := filepath.Glob("../../docs/*.md")
	files = append(files, "../../README.md")
	if len(files) < 10 {
		t.Fatalf("only %d documents found", len(files))
	}
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range Check(strings.TrimPrefix(path, "../../"), string(b), f) {
			t.Error(p)
		}
	}
}

var facts = Facts{
	ControlFiles: map[string]bool{"me": true, "tcp.smtp": true, "rcpthosts": true},
	Subcommands:  map[string]bool{"queue": true, "domain": true, "user": true, "alias": true, "help": true},
	Programs:     map[string]bool{"goqmail": true, "goqmaild": true, "goqmail-remote": true, "goqmail-sendmail": true},
	Accounts:     map[string]bool{"goqmailq": true, "goqmailnf": true},
	Sockets:      map[string]bool{"submit.sock": true},
}

// TestCheckFinds: each kind of name that does not exist is found, in the
// places it is looked for.
func TestCheckFinds(t *testing.T) {
	for _, tt := range []struct{ doc, want string }{
		{"write it into `control/smtplimit`.", "control/smtplimit is not a control file"},
		{"see ROOT/control/nope.", "control/nope is not a control file"},
		{"the queue listens on `run/queue.sock`", "run/queue.sock is not a socket"},
		{"started by goqmail-spawn", "goqmail-spawn is not a program"},
		{"in `cmd/goqmail-rspawn/main.go`", "goqmail-rspawn is not a program"},
		{"    bin/goqmail-inject x", "goqmail-inject is not a program"},
		{"runs as `goqmailx`", "goqmailx is neither"},
		{"| `goqmail frobnicate` | x |", `no subcommand "frobnicate"`},
		{"| `goqmail domain\\|user\\|vhost ...` | x |", `no subcommand "vhost"`},
		{"text\n\n    sudo bin/goqmail stats -root demo\n", `no subcommand "stats"`},
		{"text\n\n    echo pw | /var/goqmail/bin/goqmail users add a@b\n", `no subcommand "users"`},
		{"```\nGOQMAIL_ROOT=x goqmail retry\n```\n", `no subcommand "retry"`},
		{"```sh\n$ goqmail show 1\n```\n", `no subcommand "show"`},
	} {
		probs := Check("x.md", tt.doc, facts)
		if len(probs) != 1 || !strings.Contains(probs[0].What, tt.want) {
			t.Errorf("%q: %v, want one problem with %q", tt.doc, probs, tt.want)
		}
	}
}

// TestCheckIgnoresProse: names that only look like the kinds checked are
// left alone.
func TestCheckIgnoresProse(t *testing.T) {
	for _, doc := range []string{
		"goqmail is a mail server; goqmail keeps qmail's split; goqmail then runs",   // prose
		"`control/me`, `control/tcp.smtp` and control/rcpthosts.",                    // declared
		"generated from internal/control/settings.go (`go test ./internal/control`)", // the package
		"the directory `/var/tmp/goqmail-bench` and `/var/tmp/goqmail-crash-*`",      // paths, not programs
		"smtp-source -t goqmailbench@example.test",                                   // an address
		"`bin/goqmail-sendmail` and cmd/goqmail-remote, as `goqmailq` (group goqmailnf)",
		"```text\ngoqmail vs Postfix postfix 3.7.11, 3 rounds\n```\n", // program output
		"    send: delivery 1: success: did 1+0+0/",                   // a log line
		"a line `(goqmail 19024 invoked by uid 0)` in the message",    // not where a command starts
		"`goqmail queue list`, `goqmail domain\\|user\\|alias ...`, `goqmail help`",
		"text\n\n    bin/goqmail queue list -root demo\n    echo x | bin/goqmail user add a@b -root demo\n",
		"sudo /var/goqmail/bin/goqmaild /var/goqmail; `run/submit.sock`; ROOT/run/goqmaild.pid",
	} {
		if probs := Check("x.md", doc, facts); len(probs) > 0 {
			t.Errorf("%q: %v", doc, probs)
		}
	}
}

// TestSubcommandsNeedATable: a cmd/goqmail whose subcommands this cannot
// find is an error, not an empty set that would let every name pass.
func TestSubcommandsNeedATable(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644)
	if _, err := subcommands(dir); err == nil {
		t.Fatal("no error")
	}
}
