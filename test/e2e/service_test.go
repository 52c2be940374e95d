package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// TestInstallServiceAndUninstall: `goqmail install -systemd -links -mx
// -cert FILE -destdir SCRATCH` on an installation with a message in its
// queue writes a unit that `systemd-analyze verify` passes without a word,
// links sendmail, mailq and newaliases into the scratch tree (never the
// machine's /usr), writes the five MX listeners and the certificate
// (0640 root:goqmailnf), installs the man pages (the copies in docs/man)
// and says what it did; goqmail check passes. `goqmail uninstall` refuses
// while goqmaild runs; afterwards it removes the programs, the pages, the
// unit and the links and keeps the queue, the configuration and the
// mailboxes: reinstalled and started again, the server still has the
// message. Before, install had none of these options and there was no
// uninstall.
func TestInstallServiceAndUninstall(t *testing.T) {
	for _, tool := range []string{"systemd-analyze", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found (%v): .ci/run must install it (Debian packages systemd, openssl)", tool, err)
		}
	}
	s := NewServer(t, Options{Install: true})
	goqmail := func(args ...string) (string, error) {
		cmd := exec.Command(filepath.Join(binDir, "goqmail"), args...)
		cmd.Env = []string{"PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	// A message that stays queued: remote delivery goes to a closed port.
	inject := exec.Command(filepath.Join(s.Root, "bin", "sendmail"), "someone@far.example")
	inject.Env = []string{"GOQMAIL_ROOT=" + s.Root}
	inject.Stdin = strings.NewReader("Subject: stays queued\n\nbody\n")
	if out, err := inject.CombinedOutput(); err != nil {
		t.Fatalf("sendmail: %v\n%s", err, out)
	}
	s.WaitLog(`delivery \d+: deferral`, 1, deliverTimeout)
	queued := s.QueueMessages()
	if len(queued) != 1 {
		t.Fatalf("queue holds %v, want one message", queued)
	}
	if out, err := goqmail("uninstall", s.Root); err == nil || !strings.Contains(out, "goqmaild is running") {
		t.Errorf("uninstall while goqmaild runs: %v\n%s", err, out)
	}
	s.Stop()

	tmp := t.TempDir()
	cert := filepath.Join(tmp, "mx.pem")
	if out, err := exec.Command("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", cert, "-out", cert+".crt", "-days", "2", "-subj", "/CN="+InstallDomain).CombinedOutput(); err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	crt, _ := os.ReadFile(cert + ".crt")
	f, _ := os.OpenFile(cert, os.O_APPEND|os.O_WRONLY, 0)
	f.Write(crt)
	f.Close()
	dest := filepath.Join(tmp, "dest")
	out, err := goqmail("install", "-systemd", "-links", "-mx", "-cert", cert, "-destdir", dest, s.Root)
	if err != nil {
		t.Fatalf("goqmail install with the service options: %v\n%s", err, out)
	}
	unit := filepath.Join(dest, "etc", "systemd", "system", "goqmail.service")
	for _, want := range []string{"wrote " + unit, "linked " + filepath.Join(dest, "usr", "sbin", "sendmail"),
		"control/smtplisten: SMTP (port 25) on :25", "control/pop3slisten: POP3 over TLS (port 995) on :995",
		"control/servercert.pem from " + cert, "man pages under " + filepath.Join(s.Root, "man")} {
		if !strings.Contains(out, want) {
			t.Errorf("install did not say %q:\n%s", want, out)
		}
	}
	verify, err := exec.Command("systemd-analyze", "verify", unit).CombinedOutput()
	if err != nil || len(verify) > 0 {
		t.Errorf("systemd-analyze verify %s: %v\n%s", unit, err, verify)
	}
	if b, _ := os.ReadFile(unit); !strings.Contains(string(b), "ExecStart="+s.Root+"/bin/goqmaild "+s.Root+"\n") {
		t.Errorf("unit:\n%s", b)
	}
	for _, l := range []struct{ link, prog string }{{"usr/sbin/sendmail", "sendmail"}, {"usr/bin/mailq", "mailq"}, {"usr/bin/newaliases", "newaliases"}} {
		if target, err := os.Readlink(filepath.Join(dest, l.link)); err != nil || target != filepath.Join(s.Root, "bin", l.prog) {
			t.Errorf("%s -> %q (%v), want %s", l.link, target, err, filepath.Join(s.Root, "bin", l.prog))
		}
	}
	for file, want := range map[string]string{"smtplisten": ":25\n", "submissionlisten": ":587\n", "smtpslisten": ":465\n", "pop3listen": ":110\n", "pop3slisten": ":995\n"} {
		if b, _ := os.ReadFile(filepath.Join(s.Root, "control", file)); string(b) != want {
			t.Errorf("control/%s = %q, want %q", file, b, want)
		}
	}
	st, err := os.Stat(filepath.Join(s.Root, "control", "servercert.pem"))
	_, nfGID := lookupIDs(t, "goqmaild") // smtpd's account, whose group is goqmailnf
	if err != nil || st.Mode().Perm() != 0o640 || int(st.Sys().(*syscall.Stat_t).Gid) != nfGID {
		t.Errorf("servercert.pem: %v %v, want 0640 group goqmailnf", err, st)
	}
	pages, _ := filepath.Glob(filepath.Join(s.Root, "man", "man8", "*.8"))
	docs, _ := filepath.Glob("../../docs/man/*.8")
	if len(pages) != len(docs) || len(docs) < 5 {
		t.Errorf("installed pages %d, docs/man %d", len(pages), len(docs))
	}
	for _, d := range docs {
		want, _ := os.ReadFile(d)
		got, err := os.ReadFile(filepath.Join(s.Root, "man", "man8", filepath.Base(d)))
		if err != nil || string(got) != string(want) {
			t.Errorf("installed %s differs from docs/man (%v)", filepath.Base(d), err)
		}
	}
	if out, err := goqmail("check", s.Root); err != nil {
		t.Errorf("goqmail check after install -mx: %v\n%s", err, out)
	}

	out, err = goqmail("uninstall", "-destdir", dest, s.Root)
	if err != nil {
		t.Fatalf("goqmail uninstall: %v\n%s", err, out)
	}
	for _, gone := range []string{unit, filepath.Join(dest, "usr", "sbin", "sendmail"), filepath.Join(dest, "usr", "bin", "mailq"),
		filepath.Join(dest, "usr", "bin", "newaliases"), filepath.Join(s.Root, "bin"), filepath.Join(s.Root, "man")} {
		if _, err := os.Lstat(gone); err == nil {
			t.Errorf("%s is still there after uninstall:\n%s", gone, out)
		}
	}
	for _, kept := range []string{"control/me", "control/servercert.pem", "control/smtplisten", "users", "alias/Maildir", "queue/msg/" + queued[0]} {
		if _, err := os.Stat(filepath.Join(s.Root, kept)); err != nil {
			t.Errorf("uninstall removed %s: %v\n%s", kept, err, out)
		}
	}

	// Back again: the same queue, served.
	if out, err := goqmail("install", s.Root); err != nil {
		t.Fatalf("reinstall: %v\n%s", err, out)
	}
	s.SetControl("smtplisten", s.Addr+"\n")
	for _, f := range []string{"submissionlisten", "smtpslisten", "pop3listen", "pop3slisten"} {
		s.SetControl(f, "")
	}
	s.Start()
	out, err = goqmail("queue", "list", "-root", s.Root)
	if err != nil || !strings.Contains(out, queued[0]) {
		t.Errorf("goqmail queue list after uninstall and reinstall: %v\n%s", err, out)
	}
	if got := s.QueueMessages(); !slices.Equal(got, queued) {
		t.Errorf("queue %v, want %v", got, queued)
	}
}
