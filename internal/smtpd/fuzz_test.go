package smtpd

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"goqmail/internal/logline"
	"goqmail/internal/queue"
)

var replyLine = regexp.MustCompile(`^[2-5][0-9][0-9][ -]`)

// FuzzSession feeds arbitrary client bytes to a whole SMTP session backed
// by a real queue, and checks that the server neither panics nor hangs,
// that every line it writes is a well-formed reply, and that nothing is
// left half-written in the queue. The server has a certificate, an auth
// service knowing demo@example.org/secret and AUTH allowed in plain text,
// so AUTH exchanges and STARTTLS are reached too: after "220 ready to
// start TLS" no plain-text byte may follow (the fuzzer cannot complete a
// handshake, and whatever it sent instead must never be taken for
// commands).
func FuzzSession(f *testing.F) {
	for _, seed := range []string{
		"EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<demo@example.org>\r\nDATA\r\nSubject: s\r\n\r\nbody\r\n.\r\nQUIT\r\n",
		"HELO x\r\nMAIL FROM:<>\r\nRCPT TO:<postmaster>\r\nDATA\r\n..dot\r\n\n.\n\r\n.\r\nQUIT\r\n",
		"EHLO x\r\nMAIL FROM:<a@b> SIZE=99999999999\r\nRCPT TO:<\"a@b\"@example.org>\r\nRSET\r\nVRFY x\r\nNOOP\r\n",
		"MAIL FROM:<@x,@y:a@b>\r\nRCPT TO:<a%b@example.org>\r\nDATA\r\n\x00\r\n.\r\n",
		"\x00\x01\x02\r\nEHLO\r\nBDAT 10 LAST\r\n",
		"EHLO x\r\nAUTH PLAIN AGRlbW9AZXhhbXBsZS5vcmcAc2VjcmV0\r\nMAIL FROM:<demo@example.org>\r\nRCPT TO:<a@b.example>\r\nDATA\r\n.\r\n",
		"EHLO x\r\nAUTH LOGIN\r\nZGVtb0BleGFtcGxlLm9yZw==\r\nc2VjcmV0\r\nAUTH LOGIN\r\n*\r\nAUTH PLAIN\r\n=\r\nAUTH X\r\n",
		"EHLO x\r\nAUTH PLAIN AGRlbW9AZXhhbXBsZS5vcmcAd3Jvbmc=\r\nAUTH PLAIN !!\r\nAUTH PLAIN AA==\r\nAUTH LOGIN AA==\r\n\r\n",
		"EHLO x\r\nSTARTTLS\r\nMAIL FROM:<x@y>\r\n",
		"EHLO x\r\nSTARTTLS\r\n",
		"STARTTLS x\r\nMAIL FROM:<a@b> AUTH=<>\r\n",
	} {
		f.Add([]byte(seed))
	}
	dir := f.TempDir()
	ctl := filepath.Join(dir, "control")
	os.MkdirAll(ctl, 0o755)
	os.WriteFile(filepath.Join(ctl, "me"), []byte("mail.example.org\n"), 0o644)
	os.WriteFile(filepath.Join(ctl, "rcpthosts"), []byte("example.org\n"), 0o644)
	os.WriteFile(filepath.Join(ctl, "timeoutsmtpd"), []byte("2\n"), 0o644)
	os.WriteFile(filepath.Join(ctl, "maxrcpt"), []byte("5\n"), 0o644)
	os.WriteFile(filepath.Join(ctl, "databytes"), []byte("2000\n"), 0o644)
	os.WriteFile(filepath.Join(ctl, "authplaintext"), []byte("1\n"), 0o644)
	writeTestCert(f, filepath.Join(ctl, "servercert.pem"))
	cfg, _, err := LoadConfig(ctl)
	if err != nil {
		f.Fatal(err)
	}
	q := &queue.Server{Layout: queue.Layout{Root: filepath.Join(dir, "queue")}, Log: logline.NewTo(io.Discard, "queue"), SendUID: -1}
	if err := q.Start(); err != nil {
		f.Fatal(err)
	}
	sock := filepath.Join(dir, "submit.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		f.Fatal(err)
	}
	defer ln.Close()
	go q.ServeSubmit(ln)
	auth := &fakeAuth{}
	auth.add("demo@example.org", "secret", "demo", "demo@example.org")
	srv := &Server{SubmitSocket: sock, Log: logline.NewTo(io.Discard, "smtpd"), Now: time.Now, Auth: auth}
	srv.SetConfig(cfg)

	f.Fuzz(func(t *testing.T, in []byte) {
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer server.Close()
			srv.handle(server, KindSMTP, accepted{cfg: cfg})
		}()
		var out bytes.Buffer
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			io.Copy(&out, client)
		}()
		client.SetWriteDeadline(time.Now().Add(5 * time.Second))
		client.Write(in)
		client.Write([]byte("\r\n.\r\nQUIT\r\n"))
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("session did not end")
		}
		client.Close()
		wg.Wait()
		if before, after, ok := bytes.Cut(out.Bytes(), []byte("220 2.0.0 ready to start TLS\r\n")); ok && len(after) > 0 {
			t.Fatalf("plain text after the STARTTLS reply: %q (before: %q)", after, before)
		}
		sc := bufio.NewScanner(&out)
		sc.Buffer(make([]byte, 4096), 1<<20)
		for sc.Scan() {
			if line := sc.Text(); !replyLine.MatchString(line) {
				t.Fatalf("malformed reply line %q", line)
			}
		}

	})
}
