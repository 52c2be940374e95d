package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"goqmail/internal/queue"
)

// Issue 16, item 3: goqmail status, for people and for monitoring.

// status runs goqmail status on the server's root.
func status(t *testing.T, s *Server, args ...string) result {
	t.Helper()
	return runClient(t, nil, filepath.Join(binDir, "goqmail"), append([]string{"status"}, append(args, s.Root)...)...)
}

// wantStatus checks the exit code and that every want is in the output
// (and, for a healthy server, that no problem is).
func wantStatus(t *testing.T, r result, code int, wants ...string) {
	t.Helper()
	if r.Code != code {
		t.Errorf("goqmail status exited %d, want %d:\n%s", r.Code, code, r.Out)
		return
	}
	if code == 0 && (strings.Contains(r.Out, "problem:") || !strings.HasSuffix(r.Out, "\nok\n")) {
		t.Errorf("goqmail status exited 0 but says:\n%s", r.Out)
	}
	for _, w := range wants {
		if !strings.Contains(r.Out, w) {
			t.Errorf("goqmail status does not say %q:\n%s", w, r.Out)
		}
	}
}

// writeCert installs a self-signed certificate (and its key) valid until
// notAfter as control/servercert.pem, readable by smtpd's group.
func writeCert(t *testing.T, s *Server, notAfter time.Time) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mail.example.test"},
		DNSNames: []string{"mail.example.test"}, NotBefore: notAfter.Add(-365 * 24 * time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalPKCS8PrivateKey(key)
	pemBytes := append(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	path := filepath.Join(s.Root, "control", "servercert.pem")
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".new", pemBytes, 0o640); err != nil {
		t.Fatal(err)
	}
	sys := st.Sys().(*syscall.Stat_t)
	os.Chown(path+".new", int(sys.Uid), int(sys.Gid))
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
}

// TestStatusRunningAndBroken: goqmail status exits 0 on a healthy server,
// listing every program with its pid, the listener, the queue, the last
// deliveries and the certificate; and exits 111 naming the problem when a
// program has died and is not restarted yet, when the certificate has
// expired or is about to, when the queue's oldest message is too old, and
// when goqmaild is not running.
func TestStatusRunningAndBroken(t *testing.T) {
	t.Parallel()
	s := fileLogServer(t, nil)
	sendDemoN(t, s, "counted", 1)
	s.WaitFileLog(`send: end msg`, 1)
	pids := s.pidFiles()
	running := []string{"deliveries in the last 10m: 1 delivered, 0 deferred, 0 failed",
		"listeners", "smtp        " + s.Addr, "listening", "queue      empty", "certificate: mail.example.test"}
	for _, name := range []string{"log", "queue", "lspawn", "remote", "send", "auth", "smtpd"} {
		running = append(running, "  "+name+strings.Repeat(" ", 8-len(name))+"running  pid ")
	}
	wantStatus(t, status(t, s), 0, running...)

	// A program killed while goqmaild cannot restart it (stopped): it is
	// down until goqmaild runs again.
	s.Signal(syscall.SIGSTOP)
	waitFor(t, deliverTimeout, "every thread of goqmaild to stop", func() bool { return allStopped(s.Pid()) })
	syscall.Kill(pids["smtpd"], syscall.SIGKILL)
	waitFor(t, deliverTimeout, "smtpd to die", func() bool {
		p, err := readProc(pids["smtpd"])
		return err != nil || strings.HasPrefix(p.Status["State"], "Z")
	})
	r := status(t, s)
	s.Signal(syscall.SIGCONT)
	wantStatus(t, r, 111, "problem: smtpd is down: pid ", "has exited and goqmaild has not restarted it yet")
	waitFor(t, deliverTimeout, "smtpd to be restarted", func() bool {
		p := s.pidFiles()["smtpd"]
		return p != 0 && p != pids["smtpd"]
	})
	waitFor(t, deliverTimeout, "status to be ok again", func() bool { return status(t, s).Code == 0 })

	// The certificate: expired, expiring within the 14 days, or within
	// the days the caller asks for.
	writeCert(t, s, time.Now().Add(-time.Hour))
	wantStatus(t, status(t, s), 111, "problem: certificate expired: ")
	writeCert(t, s, time.Now().Add(5*24*time.Hour))
	wantStatus(t, status(t, s), 111, "problem: certificate expires soon: ", "in 4 days (less than 14)")
	wantStatus(t, status(t, s, "-cert-days", "3"), 0)

	// A stuck queue: a message queued three days ago for a host that
	// never answers (its file as the queue writes it, put there while the
	// server is down), then the server runs and defers it.
	s.Stop()
	wantStatus(t, status(t, s, "-cert-days", "3"), 111, "problem: goqmaild is not running: nothing holds ")
	l := queue.Layout{Root: filepath.Join(s.Root, "queue")}
	const id = "00000000000000a1"
	env := &queue.Envelope{Birth: time.Now().Add(-72 * time.Hour).Unix(), UID: 0, PID: 1, Sender: "demo@example.test", Rcpts: []string{"x@stuck.example"}}
	if err := os.WriteFile(l.Msg(id), env.MarshalFile(id, []byte("Subject: stuck\n\nx\n"), nil), 0o640); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(l.MsgDir())
	sys := st.Sys().(*syscall.Stat_t)
	os.Chown(l.Msg(id), int(sys.Uid), int(sys.Gid))
	s.Start()
	s.WaitFileLog(`send: delivery \d+: deferral: x@stuck\.example: `, 1)
	wantStatus(t, status(t, s, "-cert-days", "3"), 111, "queue      1 message, the oldest "+id+" queued 3d ago",
		"problem: queue stuck: the oldest message, "+id+", has waited 3d, more than 24h")
	wantStatus(t, status(t, s, "-cert-days", "3", "-queue-age", "96h"), 0, "deferred")
}

// allStopped reports whether every thread of pid is stopped: only then can
// none of them reap a child (a thread still in wait4 reaps a dead child
// before it takes its pending SIGSTOP).
func allStopped(pid int) bool {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
	if err != nil || len(tasks) == 0 {
		return false
	}
	for _, task := range tasks {
		b, err := os.ReadFile(task)
		if err != nil {
			return false
		}
		rest := string(b[strings.LastIndexByte(string(b), ')')+1:])
		if f := strings.Fields(rest); len(f) == 0 || (f[0] != "T" && f[0] != "t") {
			return false
		}
	}
	return true
}
