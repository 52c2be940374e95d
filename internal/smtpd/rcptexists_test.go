package smtpd

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"goqmail/internal/logline"
	"goqmail/internal/vdir"
)

// rcptRoot makes a server directory with local users (users/assign: demo,
// demo-*, the alias user with .qmail-postmaster; an aliases file naming
// webmaster) and virtual domains (v.example with user alice, c.example
// with a catch-all mailbox, alias.example for v.example, new.example
// with user ned but not in rcpthosts, and an unreadable broken.example).
func rcptRoot(t *testing.T, controls map[string]string) string {
	t.Helper()
	root := t.TempDir()
	home := func(name string) string { return filepath.Join(root, "home", name) }
	files := map[string]string{
		"control/me":        "mail.example.test\n",
		"control/locals":    "example.test\n",
		"control/rcpthosts": "example.test\nv.example\nc.example\nalias.example\nrelay.example\n",
		"control/aliases":   filepath.Join(root, "aliases") + "\n",
		"users/assign": "=demo:demo:1500:1500:" + home("demo") + ":::\n+demo-:demo:1500:1500:" + home("demo") + ":-::\n" +
			"=alias:alias:1600:1600:" + home("alias") + ":::\n.\n",
		"home/demo/.qmail-foo":         "./Maildir/\n",
		"home/alias/.qmail-postmaster": "demo\n",
		"aliases":                      "webmaster: demo\n",
	}
	for name, value := range controls {
		files["control/"+name] = value
	}
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dir := vdir.OpenFiles(filepath.Join(root, "vdir"), filepath.Join(root, "vmail"), os.Getuid(), os.Getgid())
	for _, err := range []error{
		dir.AddDomain(vdir.Domain{Name: "v.example"}),
		dir.AddUserHash(vdir.User{Local: "alice", Domain: "v.example", Hash: "{PLAIN}pw"}),
		dir.AddDomain(vdir.Domain{Name: "alias.example", AliasOf: "v.example"}),
		dir.AddDomain(vdir.Domain{Name: "c.example"}),
		dir.AddUserHash(vdir.User{Local: "boss", Domain: "c.example", Hash: "{PLAIN}pw"}),
		dir.SetDomain(vdir.Domain{Name: "c.example", Catchall: vdir.Catchall{Kind: vdir.CatchMailbox, Target: "boss"}}),
		dir.AddDomain(vdir.Domain{Name: "new.example"}),
		dir.AddUserHash(vdir.User{Local: "ned", Domain: "new.example", Hash: "{PLAIN}pw"}),
		// A directory entry that cannot be read: its domain file is a
		// directory.
		os.MkdirAll(filepath.Join(root, "vdir", "broken.example", "domain"), 0o755),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// rcptSession plays commands against a session on an in-memory
// connection, one at a time, and returns the reply to each (single-line
// replies only: use HELO). A reply of "" means the server had closed.
func rcptSession(t *testing.T, root string, log *strings.Builder, cmds ...string) []string {
	t.Helper()
	cfg, warnings, err := LoadConfig(filepath.Join(root, "control"))
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) > 0 {
		t.Fatalf("warnings: %q", warnings)
	}
	srv := &Server{Log: logline.NewTo(log, "smtpd"), Now: time.Now}
	srv.SetConfig(cfg)
	client, server := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer server.Close()
		srv.handle(server, KindSMTP, accepted{cfg: cfg})
	}()
	defer func() { client.Close(); <-done }()
	client.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(client)
	if greet, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(greet, "220 ") {
		t.Fatalf("greeting %q, %v", greet, err)
	}
	var replies []string
	for _, cmd := range cmds {
		if _, err := client.Write([]byte(cmd + "\r\n")); err != nil {
			replies = append(replies, "")
			continue
		}
		line, _ := br.ReadString('\n')
		replies = append(replies, strings.TrimSuffix(line, "\r\n"))
	}
	return replies
}

// TestRcptExistence drives whole sessions against a real server
// directory: the RCPT table of issue 5 as the client sees it.
func TestRcptExistence(t *testing.T) {
	root := rcptRoot(t, nil)
	const refused = "550 5.1.1 "
	for _, tc := range []struct {
		rcpt, want string
	}{
		{"<demo@example.test>", "250 2.1.5 ok"},
		{"<DEMO@example.test>", "250 2.1.5 ok"},
		{"<demo-foo@example.test>", "250 2.1.5 ok"},
		{"<demo-bar@example.test>", refused + "<demo-bar@example.test>: sorry, no mailbox here by that name"},
		{"<postmaster@example.test>", "250 2.1.5 ok"},
		{"<webmaster@example.test>", "250 2.1.5 ok"},
		{"<nobody-at-all@example.test>", refused + "<nobody-at-all@example.test>: sorry, no mailbox here by that name"},
		{"<postmaster>", "250 2.1.5 ok"},
		{"<nobody-at-all@relay.example>", "250 2.1.5 ok"},
		{"<nobody-at-all@elsewhere.example>", "553 5.7.1 sorry, that domain isn't in my list of allowed rcpthosts; relaying denied"},
		{"<alice@v.example>", "250 2.1.5 ok"},
		{"<bob@v.example>", refused + "<bob@v.example>: sorry, no mailbox here by that name"},
		{"<alice@alias.example>", "250 2.1.5 ok"},
		{"<bob@alias.example>", refused + "<bob@alias.example>: sorry, no mailbox here by that name"},
		{"<anyone@c.example>", "250 2.1.5 ok"},
		// Directory domains are ours without a rcpthosts line.
		{"<ned@new.example>", "250 2.1.5 ok"},
		{"<ted@new.example>", refused + "<ted@new.example>: sorry, no mailbox here by that name"},
		{"<ned@broken.example>", "451 4.3.0 temporary failure looking up that domain; try again later"},
		{"<" + strings.Repeat("x", 250) + "@" + strings.Repeat("y", 60) + "." + strings.Repeat("z", 60) + "." + strings.Repeat("w", 60) + ".example.test>",
			"553 5.7.1 sorry, that domain isn't in my list of allowed rcpthosts; relaying denied"},
		{"<" + strings.Repeat("x", 250) + "@example.test>", refused + "<" + strings.Repeat("x", 250) + "@example.test>: sorry, no mailbox here by that name"},
	} {
		var log strings.Builder
		got := rcptSession(t, root, &log, "HELO client.example", "MAIL FROM:<someone@example.com>", "RCPT TO:"+tc.rcpt)
		if got[2] != tc.want {
			t.Errorf("RCPT TO:%s: %q, want %q\n%s", tc.rcpt, got[2], tc.want, log.String())
		}
	}
}

// A lookup that fails is neither a refusal nor a silent accept: 451,
// logged with the reason.
func TestRcptLookupFailure(t *testing.T) {
	root := rcptRoot(t, map[string]string{"aliases": "/nonexistent/goqmail-test/aliases\n"})
	var log strings.Builder
	got := rcptSession(t, root, &log, "HELO client.example", "MAIL FROM:<someone@example.com>",
		"RCPT TO:<nobody-at-all@example.test>", "RCPT TO:<demo@example.test>")
	if got[2] != "451 4.3.0 temporary failure looking up that recipient; try again later" || got[3] != "250 2.1.5 ok" {
		t.Errorf("replies %q", got)
	}
	if !strings.Contains(log.String(), "cannot check rcpt <nobody-at-all@example.test>: aliases file") {
		t.Errorf("log does not say why:\n%s", log.String())
	}
}

// The harvest limit comes from control/maxunknownrcpt and ends the session
// with a log line saying why.
func TestRcptHarvest(t *testing.T) {
	root := rcptRoot(t, map[string]string{"maxunknownrcpt": "2\n"})
	var log strings.Builder
	got := rcptSession(t, root, &log, "HELO harvester.example", "MAIL FROM:<x@example.com>",
		"RCPT TO:<a1@example.test>", "RCPT TO:<demo@example.test>", "RCPT TO:<bob@v.example>",
		"RCPT TO:<a3@example.test>", "NOOP")
	want := []string{"250 mail.example.test", "250 2.1.0 ok",
		"550 5.1.1 <a1@example.test>: sorry, no mailbox here by that name", "250 2.1.5 ok",
		"550 5.1.1 <bob@v.example>: sorry, no mailbox here by that name",
		"421 4.7.0 too many unknown recipients; closing connection", ""}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("replies\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, frag := range []string{"dropped: 3 unknown recipients in one session (directory harvest?), the last <a3@example.test> from <x@example.com>",
		"dropped: too many unknown recipients"} {
		if !strings.Contains(log.String(), frag) {
			t.Errorf("log lacks %q:\n%s", frag, log.String())
		}
	}
}

// singleUID follows the supervisor's GOQMAIL_SMTPD_UID: -1 is single-user
// mode (restrict to our own uid), anything else or nothing is no
// restriction.
func TestSingleUID(t *testing.T) {
	t.Setenv("GOQMAIL_SMTPD_UID", "-1")
	if got := singleUID(); got != os.Getuid() {
		t.Errorf("single-user mode: %d, want %d", got, os.Getuid())
	}
	t.Setenv("GOQMAIL_SMTPD_UID", "123")
	if got := singleUID(); got != 0 {
		t.Errorf("root mode: %d, want 0", got)
	}
	os.Unsetenv("GOQMAIL_SMTPD_UID")
	if got := singleUID(); got != 0 {
		t.Errorf("no variable: %d, want 0", got)
	}
}
