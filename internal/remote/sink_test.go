package remote

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"goqmail/internal/route"
)

// Postfix's smtp-sink is a real, independent SMTP server with fault
// options; these tests run our client against it.

const sinkPath = "/usr/sbin/smtp-sink"

// startSink runs smtp-sink on ip:port with extra options and returns the
// directory it dumps messages into (one file per message, dot-stuffing
// removed, LF line ends).
func startSink(t *testing.T, ip string, port uint16, opts ...string) string {
	t.Helper()
	if _, err := os.Stat(sinkPath); err != nil {
		// A missing peer is a machine that was not set up: fail, never
		// pass silently (.ci/run installs postfix).
		t.Fatalf("smtp-sink not installed (apt-get install postfix): %v", err)
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o777)
	args := []string{"-d", dir + "/%M."}
	if os.Getuid() == 0 {
		// smtp-sink refuses to run as root; the dump directory is 0777
		// and every parent of a TempDir is traversable.
		args = append(args, "-u", "nobody")
		os.Chmod(filepath.Dir(dir), 0o755)
	}
	args = append(args, opts...)
	args = append(args, fmt.Sprintf("%s:%d", ip, port), "10")
	cmd := exec.Command(sinkPath, args...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("smtp-sink: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	addr := net.JoinHostPort(ip, fmt.Sprint(port))
	for start := time.Now(); ; time.Sleep(10 * time.Millisecond) {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return dir
		}
		if time.Since(start) > 3*time.Second {
			t.Fatalf("smtp-sink did not start on %s: %v", addr, err)
		}
	}
}

// freePort finds a port free on every ip.
func freePort(t *testing.T, ips ...string) uint16 {
	for range 20 {
		ln, err := net.Listen("tcp", ips[0]+":0")
		if err != nil {
			t.Fatal(err)
		}
		port := netip.MustParseAddrPort(ln.Addr().String()).Port()
		ok := true
		for _, ip := range ips[1:] {
			l2, err := net.Listen("tcp", fmt.Sprintf("%s:%d", ip, port))
			if err != nil {
				ok = false
				break
			}
			l2.Close()
		}
		ln.Close()
		if ok {
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// sinkDNS points domain's MX records at the given loopback addresses.
func sinkDNS(domain string, ips ...string) staticDNS {
	d := staticDNS{mx: map[string][]route.MX{}, ip: map[string][]netip.Addr{}}
	for i, ip := range ips {
		h := fmt.Sprintf("mx%d.%s", i+1, domain)
		d.mx[domain] = append(d.mx[domain], route.MX{Host: h, Pref: uint16(10 * (i + 1))})
		d.ip[h] = []netip.Addr{netip.MustParseAddr(ip)}
	}
	return d
}

// dumps waits for n dump files and returns their contents.
func dumps(t *testing.T, dir string, n int) []string {
	t.Helper()
	for start := time.Now(); ; time.Sleep(10 * time.Millisecond) {
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		if len(files) >= n {
			var out []string
			for _, f := range files {
				b, _ := os.ReadFile(f)
				out = append(out, string(b))
			}
			return out
		}
		if time.Since(start) > 3*time.Second {
			t.Fatalf("%d dump files, want %d", len(files), n)
		}
	}
}

func TestSmtpSinkDelivery(t *testing.T) {
	port := freePort(t, "127.0.0.2")
	dir := startSink(t, "127.0.0.2", port)
	c := newClient(t, sinkDNS("sink.test", "127.0.0.2"), port)
	content := "Subject: sink\n\n.leading dot\nlone\rcr\n8bit caf\xc3\xa9\nno final newline"
	res := c.Deliver(context.Background(), job("sink.test", content, "one", "two"))
	if codes(res) != "KK" || !strings.Contains(res[0].Text, "Remote host said: 250 2.0.0 Ok") {
		t.Fatalf("%+v", res)
	}
	d := dumps(t, dir, 1)[0]
	for _, want := range []string{
		"X-Helo-Args: client.test\n",
		"X-Mail-Args: <sender@origin.test> BODY=8BITMIME\n",
		"X-Rcpt-Args: <one@sink.test>\nX-Rcpt-Args: <two@sink.test>\n",
		"\nSubject: sink\n\n.leading dot\nlone\ncr\n8bit caf\xc3\xa9\nno final newline\n",
	} {
		if !strings.Contains(d, want) {
			t.Errorf("dump lacks %q:\n%s", want, d)
		}
	}
}

func TestSmtpSinkFaults(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  []string
		want  string
		text  string
		extra []string // more sinks, on 127.0.0.3...
	}{
		{"RCPT soft reject", []string{"-r", "RCPT"}, "ZZ", "450 4.3.0", nil},
		{"RCPT hard reject", []string{"-f", "RCPT"}, "DD", "does not like recipient./Remote host said: 500 5.3.0", nil},
		{"MAIL 421", []string{"-Q", "MAIL"}, "ZZ", "421", nil},
		{"end of data hard reject", []string{"-f", "."}, "DD", "failed after I sent the message", nil},
		{"disconnect after the dot", []string{"-q", "."}, "ZZ", "Possible duplicate!", nil},
		{"abort during data", []string{"-A", "0"}, "DD", "550", nil},
		{"no 8BITMIME", []string{"-8"}, "KK", "", nil},
		{"EHLO and HELO refused: next MX", []string{"-f", "EHLO,HELO"}, "KK", "", []string{}},
		{"greeting refused: next MX", []string{"-f", "CONNECT"}, "KK", "", []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ips := []string{"127.0.0.2"}
			if tc.extra != nil {
				ips = append(ips, "127.0.0.3")
			}
			port := freePort(t, ips...)
			first := startSink(t, "127.0.0.2", port, tc.opts...)
			var good string
			if tc.extra != nil {
				good = startSink(t, "127.0.0.3", port)
			}
			c := newClient(t, sinkDNS("sink.test", ips...), port)
			c.ReplyTimeout = time.Second
			res := c.Deliver(context.Background(), job("sink.test", "Subject: x\n\nbody \xff\n", "one", "two"))
			if codes(res) != tc.want || !strings.Contains(res[0].Text, tc.text) {
				t.Fatalf("got %+v, want %s with %q", res, tc.want, tc.text)
			}
			if tc.name == "no 8BITMIME" {
				// 8-bit data goes as it is, unlabelled, as qmail and
				// Postfix send it; no BODY= the peer did not offer.
				if d := dumps(t, first, 1)[0]; !strings.Contains(d, "X-Mail-Args: <sender@origin.test>\n") || !strings.Contains(d, "body \xff") {
					t.Errorf("dump:\n%s", d)
				}
			}
			if tc.extra != nil {
				if res[0].Host != fmt.Sprintf("127.0.0.3:%d", port) || len(dumps(t, good, 1)) != 1 {
					t.Errorf("not delivered by the next MX: %+v", res)
				}
			}
		})
	}
}
