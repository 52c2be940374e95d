package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// demoHome is the demo user's home directory in s.
func demoHome(s *Server) string { return filepath.Join(s.Root, "home", "demo") }

// writeUserFile writes a file in a home as the demo account would own it:
// .qmail files must belong to the user and not be group or world writable.
func writeUserFile(t *testing.T, s *Server, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if asRoot {
		uid, gid := lookupIDs(t, "goqmaildemo")
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
}

// demoUID is the uid deliveries to the demo user run as.
func demoUID(t *testing.T) int {
	if asRoot {
		uid, _ := lookupIDs(t, "goqmaildemo")
		return uid
	}
	return os.Getuid()
}

// waitFile waits until path exists and is not empty, and returns it.
func waitFile(t *testing.T, path string) []byte {
	t.Helper()
	var b []byte
	waitFor(t, deliverTimeout, path, func() bool {
		var err error
		b, err = os.ReadFile(path)
		return err == nil && len(b) > 0
	})
	return b
}

func readAll(t *testing.T, files []string) []string {
	t.Helper()
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// A .qmail program runs as the user (never root) in the home directory,
// gets exactly the message on stdin and qmail's environment; an mbox line
// appends a message s-nail reads back; forwards chain through two .qmail
// files; postmaster reaches a person through the alias user.
func TestDotQmailInstructions(t *testing.T) {
	requireTool(t, "s-nail")
	s := NewServer(t, Options{})
	home := demoHome(s)
	writeUserFile(t, s, home, ".qmail-prog", "# records what a program gets\n|id -u > prog.uid; env > prog.env; cat > prog.in\n")
	writeUserFile(t, s, home, ".qmail-box", "./Mailbox\n")
	writeUserFile(t, s, home, ".qmail-fwd1", "&demo-fwd2@example.test\n")
	writeUserFile(t, s, home, ".qmail-fwd2", "demo@example.test\n")

	for _, to := range []string{"demo-prog@example.test", "demo-box@example.test", "Demo-Fwd1@example.test", "postmaster@example.test"} {
		r := swaks(t, s, "--to", to, "--header", "Subject: to "+to, "--body", "From the start\n.dot line\nend\n")
		if r.Code != 0 || !acceptedAfterData.MatchString(r.Out) {
			t.Fatalf("swaks to %s: exit %d\n%s", to, r.Code, r.Out)
		}
	}

	// The program: uid, environment, stdin.
	uidText := strings.TrimSpace(string(waitFile(t, filepath.Join(home, "prog.uid"))))
	if uidText != strconv.Itoa(demoUID(t)) || uidText == "0" && asRoot {
		t.Errorf("program ran as uid %s, want the user's %d", uidText, demoUID(t))
	}
	if owner := fileOwner(t, filepath.Join(home, "prog.uid")); owner != demoUID(t) {
		t.Errorf("program's file owned by uid %d", owner)
	}
	s.WaitLog(`send: delivery \d+: success: .*`, 4, deliverTimeout)
	env := string(waitFile(t, filepath.Join(home, "prog.env")))
	for _, want := range []string{
		"SENDER=a@example.org\n", "RECIPIENT=demo-prog@example.test\n", "LOCAL=demo-prog\n", "EXT=prog\n",
		"HOST=example.test\n", "HOST2=example\n", "USER=", "HOME=" + home + "\n",
		"DTLINE=Delivered-To: demo-prog@example.test\n", "RPLINE=Return-Path: <a@example.org>\n",
	} {
		if !strings.Contains(env, want) {
			t.Errorf("program environment lacks %q:\n%s", want, env)
		}
	}
	if strings.Contains(env, "GOQMAIL_") {
		t.Errorf("program environment leaks goqmail's own variables:\n%s", env)
	}
	in := string(waitFile(t, filepath.Join(home, "prog.in")))
	if !strings.HasPrefix(in, "Received: ") || strings.Contains(in, "Delivered-To:") || strings.Contains(in, "Return-Path:") ||
		!strings.HasSuffix(strings.TrimRight(in, "\n"), "\n\nFrom the start\n.dot line\nend") {
		t.Errorf("program stdin is not exactly the message:\n%q", in)
	}

	// The mbox, read back by s-nail.
	box := filepath.Join(home, "Mailbox")
	waitFile(t, box)
	raw, _ := os.ReadFile(box)
	if owner := fileOwner(t, box); owner != demoUID(t) {
		t.Errorf("mbox owned by uid %d, want the user's %d", owner, demoUID(t))
	}
	if !regexp.MustCompile(`(?m)^From a@example\.org `).Match(raw) || !strings.Contains(string(raw), "\n>From the start\n") {
		t.Errorf("mbox not in mboxrd form:\n%s", raw)
	}
	r := runClient(t, []byte("print 1\nxit\n"), "s-nail", "-#", "-:/", "-R", "-f", box)
	if r.Code != 0 || !strings.Contains(r.Out, "to demo-box@example.test") || !strings.Contains(r.Out, "From the start") {
		t.Errorf("s-nail could not read the mbox (exit %d):\n%s", r.Code, r.Out)
	}

	// The forward chain and postmaster arrive in the demo Maildir.
	msgs := readAll(t, s.WaitMaildir(2, deliverTimeout))
	var chain, pm string
	for _, m := range msgs {
		switch {
		case strings.Contains(m, "Subject: to Demo-Fwd1@example.test"):
			chain = m
		case strings.Contains(m, "Subject: to postmaster@example.test"):
			pm = m
		}
	}
	dts := regexp.MustCompile(`(?m)^Delivered-To: (.*)$`).FindAllStringSubmatch(chain, -1)
	var got []string
	for _, d := range dts {
		got = append(got, d[1])
	}
	want := []string{"demo@example.test", "demo-fwd2@example.test", "Demo-Fwd1@example.test"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("forward chain Delivered-To lines %q, want %q\n%s", got, want, chain)
	}
	if !strings.Contains(pm, "Delivered-To: alias-postmaster@example.test") && !strings.Contains(pm, "Delivered-To: postmaster@example.test") {
		t.Errorf("postmaster mail did not go through the alias user:\n%s", pm)
	}
}

// Two recipients whose delivery fails for good (their .qmail programs exit
// 100; unknown addresses no longer get this far, they are refused at RCPT)
// get one bounce: an RFC 3464 report back to the sender, in qmail's words,
// which mblaze reads as multipart/report.
func TestBounceReadBack(t *testing.T) {
	requireTool(t, "mshow")
	s := NewServer(t, Options{NoStart: true})
	for _, ext := range []string{"nope", "gone"} {
		writeUserFile(t, s, demoHome(s), ".qmail-"+ext, "|echo 'Sorry, no mailbox here by that name. (#5.1.1)'; exit 100\n")
	}
	s.Start()
	r := swaks(t, s, "--from", "demo@example.test", "--to", "demo-gone@example.test,demo-nope@example.test", "--header", "Subject: lost")
	if r.Code != 0 {
		t.Fatalf("swaks: %d\n%s", r.Code, r.Out)
	}
	files := s.WaitMaildir(1, deliverTimeout)
	s.WaitLog(`send: bounce msg `, 1, deliverTimeout)
	b := readAll(t, files)[0]
	for _, want := range []string{"Return-Path: <>", "Subject: failure notice", "multipart/report", "report-type=delivery-status",
		"Hi. This is the qmail-send program at", "<demo-gone@example.test>:", "<demo-nope@example.test>:",
		"Final-Recipient: rfc822; demo-gone@example.test", "Status: 5.1.1", "Subject: lost"} {
		if !strings.Contains(b, want) {
			t.Errorf("bounce lacks %q:\n%s", want, b)
		}
	}
	if n := strings.Count(b, "Action: failed"); n != 2 {
		t.Errorf("bounce has %d recipient blocks, want 2 (one bounce for both)", n)
	}
	structure := mblaze(t, nil, "mshow", "-t", files[0])
	for _, want := range []string{"multipart/report", "text/plain", "message/delivery-status", "message/rfc822"} {
		if !strings.Contains(structure, want) {
			t.Errorf("mshow -t does not show %s:\n%s", want, structure)
		}
	}
	if len(s.QueueMessages()) != 0 {
		waitFor(t, deliverTimeout, "queue empty", func() bool { return len(s.QueueMessages()) == 0 })
	}
}

// sendmail -t from s-nail: recipients from the header, the submitting uid
// in the queue's Received line, header completed (Bcc removal and the rest
// of qmail-inject's rules are unit-tested in internal/inject).
func TestSendmailFromMailUserAgent(t *testing.T) {
	requireTool(t, "s-nail")
	s := NewServer(t, Options{})
	sendmail := filepath.Join(binDir, "goqmail-sendmail")
	cmd := exec.Command("s-nail", "-#", "-:/", "-S", "mta="+sendmail, "-S", "mta-arguments=-t",
		"-S", "mta-no-receiver-arguments", "-S", "from=tester@example.test", "-s", "from s-nail",
		"-c", "demo@example.test", "other@example.test")
	cmd.Env = append(os.Environ(), "GOQMAIL_ROOT="+s.Root)
	cmd.Stdin = strings.NewReader("hello from a mail user agent\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("s-nail: %v\n%s", err, out)
	}
	// Recipients come from the To and Cc fields (s-nail passes none on the
	// command line): demo gets the message; other@ bounces to the sender
	// root@ -> the alias user -> demo.
	var msg string
	waitFor(t, deliverTimeout, "the message in the Maildir", func() bool {
		for _, m := range readAll(t, s.MaildirNew()) {
			if strings.Contains(m, "Subject: from s-nail") && !strings.Contains(m, "failure notice") {
				msg = m
				return true
			}
		}
		return false
	})
	uid := strconv.Itoa(os.Getuid())
	if !regexp.MustCompile(`Received: \(goqmail \d+ invoked by uid ` + uid + `\)`).MatchString(msg) {
		t.Errorf("no Received line naming uid %s:\n%s", uid, msg)
	}
	if !strings.Contains(msg, "\nDate: ") || !strings.Contains(msg, "\nMessage-ID: ") && !strings.Contains(msg, "\nMessage-Id: ") {
		t.Errorf("header not completed as qmail-inject does:\n%s", msg)
	}
	if !strings.Contains(msg, "hello from a mail user agent") {
		t.Errorf("body lost:\n%s", msg)
	}
}

// goqmail queue: a message to a remote address (remote delivery is not
// connected yet, so it waits) is listed, held, and deleted with a bounce.
func TestQueueAdministration(t *testing.T) {
	s := NewServer(t, Options{})
	sendmail := filepath.Join(binDir, "goqmail-sendmail")
	cmd := exec.Command(sendmail, "-f", "demo@example.test", "far@remote.example")
	cmd.Env = append(os.Environ(), "GOQMAIL_ROOT="+s.Root)
	cmd.Stdin = strings.NewReader("Subject: far away\n\nhi\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sendmail: %v\n%s", err, out)
	}
	s.WaitLog(`send: info msg `, 1, deliverTimeout)
	ids := s.QueueMessages()
	if len(ids) != 1 {
		t.Fatalf("queue holds %v", ids)
	}
	id := ids[0]
	goq := func(args ...string) string {
		t.Helper()
		c := exec.Command(filepath.Join(binDir, "goqmail"), append([]string{"queue"}, append(args, "-root", s.Root)...)...)
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("goqmail queue %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	list := goq("list")
	if !strings.Contains(list, "#"+id) || !regexp.MustCompile(`pending\tremote\tfar@remote\.example`).MatchString(list) || !strings.Contains(list, "<demo@example.test>") {
		t.Errorf("list:\n%s", list)
	}
	if st := goq("stat"); !strings.Contains(st, "messages in queue: 1") {
		t.Errorf("stat:\n%s", st)
	}
	goq("hold", id)
	if list := goq("list"); !strings.Contains(list, "HELD") {
		t.Errorf("hold not shown:\n%s", list)
	}
	if show := goq("show", id); !strings.Contains(show, "Subject: far away") {
		t.Errorf("show:\n%s", show)
	}
	goq("delete", id, "--bounce")
	files := s.WaitMaildir(1, deliverTimeout)
	b := readAll(t, files)[0]
	if !strings.Contains(b, "far@remote.example") || !strings.Contains(b, "deleted from the queue") {
		t.Errorf("bounce of a deleted message:\n%s", b)
	}
	waitFor(t, deliverTimeout, "queue empty", func() bool { return len(s.QueueMessages()) == 0 })
	// A bad id gets a clear error, not a crash.
	c := exec.Command(filepath.Join(binDir, "goqmail"), "queue", "hold", "../etc", "-root", s.Root)
	if out, err := c.CombinedOutput(); err == nil || !strings.Contains(string(out), "not a queue id") {
		t.Errorf("bad id: %v\n%s", err, out)
	}
	_ = time.Second
}

// Hostile extensions reach a .qmail-default program only through its
// environment: no shell runs them, no file appears outside the home. An
// address the SMTP parser refuses gets a clear 5xx instead.
func TestHostileExtensionsReachNoShell(t *testing.T) {
	s := NewServer(t, Options{})
	home := demoHome(s)
	writeUserFile(t, s, home, ".qmail-default", "|printf '%s\\n' \"$EXT\" >> exts\n")
	writeUserFile(t, s, home, ".qmail-sender", "|printf '%s\\n' \"$SENDER\" >> senders\n")
	marker := filepath.Join(t.TempDir(), "pwned")
	exts := []string{
		"`touch${IFS}" + marker + "`",
		"$IFS|touch${IFS}" + marker,
		"x/.qmail",
		"a/b/c",
		"{touch${IFS}" + marker + "}",
		"..",
		"$(touch " + marker + ")",
	}
	accepted := 0
	var want []string
	for _, e := range exts {
		r := swaks(t, s, "--to", "demo-"+e+"@example.test")
		switch {
		case acceptedAfterData.MatchString(r.Out):
			accepted++
			want = append(want, e)
		case !regexp.MustCompile(`(?m)^<\*\* +5\d\d 5\.\d+\.\d+ `).MatchString(r.Out):
			t.Errorf("address with extension %q: neither accepted nor a clear 5xx:\n%s", e, r.Out)
		}
	}
	// The sender position too.
	hostileSender := "`touch${IFS}" + marker + "`$IFS@example.org"
	if r := swaks(t, s, "--from", hostileSender, "--to", "demo-sender@example.test"); acceptedAfterData.MatchString(r.Out) {
		accepted++
		defer func() {
			if got := string(waitFile(t, filepath.Join(home, "senders"))); got != hostileSender+"\n" {
				t.Errorf("SENDER not passed literally: %q", got)
			}
		}()
	} else {
		t.Errorf("hostile sender refused:\n%s", r.Out)
	}
	if accepted < 5 {
		t.Fatalf("only %d hostile addresses accepted; the test needs most to reach delivery", accepted)
	}
	s.WaitLog(`send: end msg`, accepted, deliverTimeout)
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a hostile address ran a shell command")
	}
	got := string(waitFile(t, filepath.Join(home, "exts")))
	for _, w := range want {
		if !strings.Contains(got, strings.ToLower(w)+"\n") && !strings.Contains(got, w+"\n") {
			t.Errorf("EXT %q not passed literally:\n%s", w, got)
		}
	}
	ents, _ := os.ReadDir(home)
	for _, e := range ents {
		if strings.Contains(e.Name(), "touch") || e.Name() == "c" || e.Name() == "b" {
			t.Errorf("a hostile extension created %s in the home", e.Name())
		}
	}
}

// A sendmail-style aliases file through the alias user (qmail's
// fastforward), and ~/.forward with dotforward on (qmail's dot-forward).
func TestAliasesAndDotForward(t *testing.T) {
	s := NewServer(t, Options{NoStart: true})
	aliases := filepath.Join(s.Root, "control", "aliases.txt")
	if err := os.WriteFile(aliases, []byte("# test aliases\nteam: demo\nsales: team,\n  demo-copy\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.SetControl("aliases", aliases+"\n")
	s.SetControl("dotforward", "1\n")
	home := demoHome(s)
	writeUserFile(t, s, home, ".qmail-copy", "./Copybox\n")
	writeUserFile(t, s, home, ".forward", "\\demo, demo-copy@example.test\n")
	s.Start()

	r := swaks(t, s, "--to", "Sales@example.test", "--header", "Subject: via aliases")
	if !acceptedAfterData.MatchString(r.Out) {
		t.Fatalf("swaks:\n%s", r.Out)
	}
	// sales -> team -> demo (whose .forward keeps a copy in the Maildir
	// and sends one to demo-copy) and demo-copy: two copies in Copybox.
	files := s.WaitMaildir(1, deliverTimeout)
	if m := readAll(t, files)[0]; !strings.Contains(m, "Subject: via aliases") || !strings.Contains(m, "Delivered-To: alias-sales@example.test") && !strings.Contains(m, "Delivered-To: Sales@example.test") {
		t.Errorf("aliased message:\n%s", m)
	}
	waitFor(t, deliverTimeout, "two copies in Copybox", func() bool {
		b, _ := os.ReadFile(filepath.Join(home, "Copybox"))
		return strings.Count(string(b), "Subject: via aliases") == 2
	})
}

// virtualdomains: a domain served by the demo user, delivered through its
// .qmail-<local> files (qmail's prepend-localpart), and locals first.
func TestVirtualDomain(t *testing.T) {
	s := NewServer(t, Options{NoStart: true, Control: map[string]string{
		"virtualdomains": "virt.example:demo\nsales@other.example:demo-sales\n",
		"rcpthosts":      "example.test\nvirt.example\nother.example\n",
	}})
	writeUserFile(t, s, demoHome(s), ".qmail-joe", "./Maildir/\n")
	writeUserFile(t, s, demoHome(s), ".qmail-sales-sales", "./Maildir/\n")
	s.Start()
	for _, to := range []string{"Joe@virt.example", "sales@other.example"} {
		if r := swaks(t, s, "--to", to, "--header", "Subject: to "+to); !acceptedAfterData.MatchString(r.Out) {
			t.Fatalf("swaks to %s:\n%s", to, r.Out)
		}
	}
	msgs := readAll(t, s.WaitMaildir(2, deliverTimeout))
	joined := strings.Join(msgs, "\n----\n")
	for _, want := range []string{"Delivered-To: demo-Joe@virt.example", "Delivered-To: demo-sales-sales@other.example"} {
		if !strings.Contains(joined, want) {
			t.Errorf("no %q:\n%s", want, joined)
		}
	}
	// An address without a .qmail file is refused at RCPT time; injected
	// locally (not checked) it bounces, naming the address as written.
	if r := swaks(t, s, "--from", "demo@example.test", "--to", "nobody@virt.example"); !strings.Contains(r.Out, "550 5.1.1") {
		t.Errorf("unknown virtualdomains address not refused at RCPT:\n%s", r.Out)
	}
	sendmailAs(t, s, "demo@example.test", []string{"nobody@virt.example"}, "Subject: lost\n\nx\n")
	var bounce string
	waitFor(t, deliverTimeout, "the bounce", func() bool {
		for _, m := range readAll(t, s.MaildirNew()) {
			if strings.Contains(m, "failure notice") {
				bounce = m
				return true
			}
		}
		return false
	})
	if !strings.Contains(bounce, "<nobody@virt.example>:") || strings.Contains(bounce, "<demo-nobody@virt.example>:") {
		t.Errorf("bounce should name the address as sent:\n%s", bounce)
	}
}
