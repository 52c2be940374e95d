package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestFreshInstallReceivesPostmaster: right after `goqmail install`, mail
// from 127.0.0.1 to postmaster@, abuse@, root@ and mailer-daemon@ is
// accepted at RCPT and delivered into the alias user's Maildir; before,
// install made no alias user and all four got 550 (issue 10, item 4;
// RFC 5321 4.5.1). goqmail check passes, and fails once the alias user's
// .qmail-postmaster is gone.
func TestFreshInstallReceivesPostmaster(t *testing.T) {
	requireTool(t, "swaks")
	s := NewServer(t, Options{Install: true})
	check := func() (string, error) {
		out, err := exec.Command(filepath.Join(binDir, "goqmail"), "check", s.Root).CombinedOutput()
		return string(out), err
	}
	if out, err := check(); err != nil {
		t.Fatalf("goqmail check on a fresh installation: %v\n%s", err, out)
	}
	names := []string{"postmaster", "abuse", "root", "mailer-daemon"}
	var rcpts []string
	for _, n := range names {
		rcpts = append(rcpts, n+"@"+InstallDomain)
	}
	r := swaks(t, s, "--to", strings.Join(rcpts, ","), "--header", "Subject: to the admins")
	if r.Code != 0 || !acceptedAfterData.MatchString(r.Out) {
		t.Fatalf("swaks exited %d, want 0 and a 250 after DATA:\n%s", r.Code, r.Out)
	}
	md := filepath.Join(s.Root, "alias", "Maildir", "new")
	var got []string
	waitFor(t, deliverTimeout, "4 messages in "+md, func() bool {
		files, _ := filepath.Glob(filepath.Join(md, "*"))
		got = got[:0]
		for _, b := range readAll(t, files) {
			for _, line := range strings.Split(b, "\n") {
				if v, ok := strings.CutPrefix(line, "Delivered-To: "); ok {
					got = append(got, strings.TrimSpace(v))
				}
			}
		}
		return len(files) == 4
	})
	slices.Sort(got)
	want := []string{"abuse@" + InstallDomain, "mailer-daemon@" + InstallDomain,
		"postmaster@" + InstallDomain, "root@" + InstallDomain}
	if !slices.Equal(got, want) {
		t.Errorf("Delivered-To lines %q, want %q", got, want)
	}

	if err := os.Remove(filepath.Join(s.Root, "alias", ".qmail-postmaster")); err != nil {
		t.Fatal(err)
	}
	out, err := check()
	if err == nil || !strings.Contains(out, "postmaster@"+InstallDomain+": refused at RCPT time with 550 5.1.1") {
		t.Errorf("goqmail check without .qmail-postmaster: %v\n%s", err, out)
	}
}

// TestInitAbuseReachesDemo: `goqmail init` gives abuse@ (RFC 2142) to the
// demo user as it does postmaster@; before, abuse@ got 550.
func TestInitAbuseReachesDemo(t *testing.T) {
	requireTool(t, "swaks")
	s := NewServer(t, Options{})
	r := swaks(t, s, "--to", "abuse@example.test,postmaster@example.test", "--header", "Subject: abuse report")
	if r.Code != 0 || !acceptedAfterData.MatchString(r.Out) {
		t.Fatalf("swaks exited %d, want 0 and a 250 after DATA:\n%s", r.Code, r.Out)
	}
	s.WaitMaildir(2, deliverTimeout)
}
