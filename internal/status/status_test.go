package status

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"goqmail/internal/pidlock"
	"goqmail/internal/queue"
)

func TestAge(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second: "0s", 12 * time.Second: "12s", 10 * time.Minute: "10m", 250 * time.Second: "4m10s",
		24 * time.Hour: "24h", 26*time.Hour + 5*time.Minute: "26h5m", 72 * time.Hour: "3d", 76 * time.Hour: "3d4h",
	} {
		if got := age(d); got != want {
			t.Errorf("age(%v) = %q, want %q", d, got, want)
		}
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func certPEM(t *testing.T, notAfter time.Time) string {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mx.example"}, NotBefore: notAfter.Add(-time.Hour * 24 * 90), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalPKCS8PrivateKey(key)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb})) + string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// has reports whether some line of list contains want.
func has(list []string, want string) bool {
	for _, l := range list {
		if strings.Contains(l, want) {
			return true
		}
	}
	return false
}

// A root where this test is goqmaild (it holds the lock; its children are
// the programs): a program whose pid file is missing, one that has exited,
// a stuck queue, messages in queue/bad, a certificate about to expire, and
// the log's deliveries and errors counted against a fixed clock.
func TestGatherNamesEachProblem(t *testing.T) {
	root := t.TempDir()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	write(t, filepath.Join(root, "control/me"), "mx.example\n")
	write(t, filepath.Join(root, "control/logdest"), "files\n")
	write(t, filepath.Join(root, "control/smtplisten"), "127.0.0.1:1\n")
	write(t, filepath.Join(root, "control/servercert.pem"), certPEM(t, now.Add(3*24*time.Hour)))
	os.MkdirAll(filepath.Join(root, "run"), 0o755)
	lock, err := pidlock.TryAcquire(filepath.Join(root, "run/goqmaild.pid"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	// Programs: every one a sleeping child of ours, but send has exited
	// and smtpd has no pid file.
	for _, name := range []string{"log", "queue", "lspawn", "remote", "send", "auth", "dkimsign"} {
		cmd := exec.Command("sleep", "60")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		if name == "send" {
			cmd.Process.Kill()
			cmd.Wait()
		}
		write(t, filepath.Join(root, "run", name+".pid"), strconv.Itoa(cmd.Process.Pid)+"\n")
	}
	l := queue.Layout{Root: filepath.Join(root, "queue")}
	os.MkdirAll(l.MsgDir(), 0o755)
	os.MkdirAll(filepath.Join(l.Root, "bad"), 0o755)
	for i, birth := range []time.Time{now.Add(-time.Hour), now.Add(-50 * time.Hour)} {
		id := "000000000000000" + strconv.Itoa(i+1)
		env := &queue.Envelope{Birth: birth.Unix(), Sender: "a@b", Rcpts: []string{"c@d"}}
		os.WriteFile(l.Msg(id), env.MarshalFile(id, []byte("x\n"), nil), 0o640)
	}
	write(t, filepath.Join(l.Root, "bad", "0000000000000009"), "torn")
	stamp := func(d time.Duration) string { return now.Add(-d).Format("2006-01-02T15:04:05.000000Z") }
	write(t, filepath.Join(root, "log/current"), ""+
		stamp(20*time.Minute)+" send: delivery 1: success: did 1+0+0/\n"+
		stamp(5*time.Minute)+" send: delivery 2: success: did 1+0+0/\n"+
		stamp(4*time.Minute)+" send: delivery 3: deferral: later (#4.4.1)\n"+
		stamp(3*time.Minute)+" send: delivery 4: failure: Sorry, no mailbox here by that name. (#5.1.1)\n"+
		stamp(2*time.Minute)+" goqmaild: warning: send exited (signal: killed); restarting\n")

	o := Defaults
	o.Root, o.Now = root, func() time.Time { return now }
	r := Gather(o)
	for _, want := range []string{
		"smtpd is down: " + filepath.Join(root, "run/smtpd.pid") + " is missing",
		"send is down: its pid ",
		"queue stuck: the oldest message, 0000000000000002, has waited 2d2h, more than 24h",
		"queue: 1 file(s) in " + filepath.Join(l.Root, "bad"),
		"certificate expires soon: ",
		"in 3 days (less than 14)",
		"nothing listens on 127.0.0.1:1 (control/smtplisten)",
	} {
		if !has(r.Problems, want) {
			t.Errorf("no problem says %q:\n%s", want, strings.Join(r.Problems, "\n"))
		}
	}
	if len(r.Problems) != 6 {
		t.Errorf("%d problems, want 6:\n%s", len(r.Problems), strings.Join(r.Problems, "\n"))
	}
	for _, want := range []string{
		"  queue   running  pid ", "  pop3d   not started: no address in pop3listen or pop3slisten",
		"queue      2 messages, the oldest 0000000000000002 queued 2d2h ago",
		"deliveries in the last 10m: 1 delivered, 1 deferred, 1 failed",
		"send: delivery 4: failure: Sorry, no mailbox", "goqmaild: warning: send exited",
		"certificate: mx.example, expires 2026-03-04T12:00:00Z (3d left)",
	} {
		if !has(r.Lines, want) {
			t.Errorf("no line says %q:\n%s", want, strings.Join(r.Lines, "\n"))
		}
	}

	// Nobody holds the lock: goqmaild is not running, and that is all
	// that is said of the programs.
	lock.Release()
	r = Gather(o)
	if !has(r.Problems, "goqmaild is not running") || has(r.Problems, "is down") {
		t.Errorf("without goqmaild:\n%s", strings.Join(r.Problems, "\n"))
	}
	// An expired certificate.
	write(t, filepath.Join(root, "control/servercert.pem"), certPEM(t, now.Add(-time.Minute)))
	if r = Gather(o); !has(r.Problems, "certificate expired: ") {
		t.Errorf("expired certificate:\n%s", strings.Join(r.Problems, "\n"))
	}
}
