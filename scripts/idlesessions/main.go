// Command idlesessions measures what idle sessions cost goqmail's network
// servers (docs/limits.md): it opens N connections from N different
// loopback addresses (127.1.0.0/16, so the per-address limits do not
// interfere), lets them sit, and reads the server's memory (RSS, PSS)
// and CPU time from /proc. The session budgets are raised above N for the
// run. It also logs K POP3 users in and reads what their mailbox
// processes (goqmail-pop3d -session) cost.
//
//	go run ./scripts/idlesessions -bin bin                 # smtp, smtps, pop3 at 1000 and 5000; 20 POP3 logins
//	go run ./scripts/idlesessions -bin bin -n 1000 -kinds smtp -idle 10s
//
// Run it as root (goqmail splits itself over its accounts) on an idle
// machine. It is a command, not a test: it asserts nothing.
package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

var (
	bin    = flag.String("bin", os.Getenv("GOQMAIL_BIN"), "directory with the goqmail programs")
	work   = flag.String("work", "/var/tmp/goqmail-idle", "scratch directory (deleted and recreated)")
	counts = flag.String("n", "1000,5000", "comma-separated numbers of idle sessions")
	kinds  = flag.String("kinds", "smtp,smtps,pop3", "listeners to fill: smtp (port 25, plain), smtps (465, TLS done), pop3 (110, before login)")
	idle   = flag.Duration("idle", 60*time.Second, "how long to watch the idle sessions' CPU time")
	logins = flag.Int("logins", 20, "POP3 users to log in at once for the mailbox-process figure (0: skip)")
)

// The servers' ports, free ones chosen once (the machine is shared).
var smtpPort, smtpsPort, pop3Port = freePort(), freePort(), freePort()

func freePort() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

func main() {
	flag.Parse()
	if *bin == "" {
		die("-bin (or GOQMAIL_BIN) must name the directory with the goqmail programs (make build)")
	}
	abs, err := filepath.Abs(*bin)
	must(err)
	*bin = abs
	var ns []int
	for _, f := range strings.Split(*counts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 60000 {
			die("-n: %q is not a count from 1 to 60000", f)
		}
		ns = append(ns, n)
	}
	fmt.Printf("idlesessions: %s, idle %v, GOMAXPROCS of the servers as goqmaild sets it, Go %s\n", time.Now().Format(time.RFC3339), *idle, goVersion())
	fmt.Printf("%-6s %6s %12s %12s %12s %12s %14s %16s\n", "kind", "n", "RSS before", "RSS after", "KB/session", "PSS KB/sess", "setup CPU ms", "idle CPU ms/min")
	for _, kind := range strings.Split(*kinds, ",") {
		for _, n := range ns {
			measure(strings.TrimSpace(kind), n)
		}
	}
	if *logins > 0 {
		measureLogins(*logins)
	}
}

// server is one goqmail root with goqmaild running on it.
type server struct {
	root string
	cmd  *exec.Cmd
}

func start(n int) *server {
	must(os.RemoveAll(*work))
	must(os.MkdirAll(*work, 0o755))
	must(os.Chmod(*work, 0o755))
	root := filepath.Join(*work, "root")
	mk := exec.Command(filepath.Join(*bin, "goqmail"), "init", root)
	mk.Env = append(os.Environ(), "GOQMAIL_LISTEN=127.0.0.1:"+smtpPort)
	if out, err := mk.CombinedOutput(); err != nil {
		die("goqmail init: %v\n%s", err, out)
	}
	budget := strconv.Itoa(n + 100)
	for name, v := range map[string]string{
		"smtpslisten": "127.0.0.1:" + smtpsPort, "pop3listen": "127.0.0.1:" + pop3Port, "authplaintext": "1",
		"concurrencyincoming": budget, "concurrencysubmission": budget, "concurrencypop3": budget,
	} {
		must(os.WriteFile(filepath.Join(root, "control", name), []byte(v+"\n"), 0o644))
	}
	log, err := os.Create(filepath.Join(*work, "goqmaild.log"))
	must(err)
	s := &server{root: root, cmd: exec.Command(filepath.Join(*bin, "goqmaild"), root)}
	s.cmd.Stdout, s.cmd.Stderr = log, log
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	must(s.cmd.Start())
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+smtpPort, time.Second)
		if err == nil {
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			l, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(l, "220 ") && s.pid("pop3d") > 0 && s.pid("auth") > 0 {
				return s
			}
		}
		if time.Now().After(deadline) {
			die("goqmaild did not start; see %s", log.Name())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *server) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	s.cmd.Wait()
}

func (s *server) pid(name string) int {
	b, err := os.ReadFile(filepath.Join(s.root, "run", name+".pid"))
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// measure fills one listener with n idle sessions.
func measure(kind string, n int) {
	s := start(n)
	defer s.stop()
	proc, port := "smtpd", smtpPort
	switch kind {
	case "smtp":
	case "smtps":
		port = smtpsPort
	case "pop3":
		proc, port = "pop3d", pop3Port
	default:
		die("-kinds: unknown kind %q", kind)
	}
	pid := s.pid(proc)
	time.Sleep(2 * time.Second)
	before := sample(pid)
	conns := openIdle(kind, "127.0.0.1:"+port, n)
	time.Sleep(5 * time.Second) // let the servers' garbage collector settle
	after := sample(pid)
	time.Sleep(*idle)
	end := sample(pid)
	for _, c := range conns {
		c.Close()
	}
	perMin := float64(end.cpu-after.cpu) / idle.Minutes()
	fmt.Printf("%-6s %6d %9d KB %9d KB %12.1f %12.1f %14d %16.1f\n", kind, n, before.rss, after.rss,
		float64(after.rss-before.rss)/float64(n), float64(after.pss-before.pss)/float64(n), after.cpu-before.cpu, perMin)
}

// openIdle opens n connections from 127.1.x.y, each through its greeting
// (and for smtps its TLS handshake), 64 at a time.
func openIdle(kind, addr string, n int) []net.Conn {
	conns := make([]net.Conn, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	var mu sync.Mutex
	var failed []string
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ip := net.IPv4(127, 1, byte((i+1)>>8), byte(i+1))
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 10 * time.Second}
			c, err := d.Dial("tcp", addr)
			if err == nil && kind == "smtps" {
				tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"})
				tc.SetDeadline(time.Now().Add(10 * time.Second))
				err = tc.Handshake()
				c = tc
			}
			var first string
			if err == nil {
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				first, err = bufio.NewReader(c).ReadString('\n')
				c.SetDeadline(time.Time{})
			}
			if err != nil || !(strings.HasPrefix(first, "220 ") || strings.HasPrefix(first, "+OK")) {
				mu.Lock()
				failed = append(failed, fmt.Sprintf("%s: %v %q", ip, err, first))
				mu.Unlock()
				if c != nil {
					c.Close()
				}
				return
			}
			conns[i] = c
		}()
	}
	wg.Wait()
	if len(failed) > 0 {
		die("%d of %d connections failed, the first: %s", len(failed), n, failed[0])
	}
	return conns
}

// usage is a process's memory in KB and CPU time in milliseconds.
type usage struct{ rss, pss, cpu int64 }

func sample(pid int) usage {
	var u usage
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	must(err)
	u.rss = field(status, "VmRSS:")
	rollup, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	must(err)
	u.pss = field(rollup, "Pss:")
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	must(err)
	// Fields after the command name: state is field 3; utime and stime
	// are 14 and 15, in clock ticks (100 per second on Linux).
	rest := stat[bytes.LastIndexByte(stat, ')')+2:]
	f := strings.Fields(string(rest))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	u.cpu = (ut + st) * 10
	return u
}

func field(b []byte, name string) int64 {
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, name) {
			f := strings.Fields(l[len(name):])
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	die("no %s in /proc", name)
	return 0
}

// measureLogins logs k virtual users in over POP3 at once and reads the
// memory of their mailbox processes (goqmail-pop3d -session).
func measureLogins(k int) {
	s := start(100)
	defer s.stop()
	gq := filepath.Join(*bin, "goqmail")
	run := func(stdin string, args ...string) {
		cmd := exec.Command(gq, args...)
		cmd.Env = append(os.Environ(), "GOQMAIL_ROOT="+s.root)
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			die("goqmail %v: %v\n%s", args, err, out)
		}
	}
	run("", "domain", "add", "idle.example", "-root", s.root)
	for i := range k {
		run("pw\n", "user", "add", fmt.Sprintf("u%d@idle.example", i), "-root", s.root)
	}
	var conns []net.Conn
	for i := range k {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 2, 0, byte(i+1))}, Timeout: 10 * time.Second}
		c, err := d.Dial("tcp", "127.0.0.1:"+pop3Port)
		must(err)
		br := bufio.NewReader(c)
		c.SetDeadline(time.Now().Add(20 * time.Second))
		br.ReadString('\n')
		fmt.Fprintf(c, "USER u%d@idle.example\r\nPASS pw\r\n", i)
		br.ReadString('\n')
		if l, _ := br.ReadString('\n'); !strings.HasPrefix(l, "+OK") {
			die("login u%d: %q", i, l)
		}
		conns = append(conns, c)
	}
	time.Sleep(2 * time.Second)
	var rss, pss int64
	var found int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if bytes.Contains(cmdline, []byte("-session\x00")) && bytes.Contains(cmdline, []byte(s.root)) {
			u := sample(pid)
			rss, pss, found = rss+u.rss, pss+u.pss, found+1
		}
	}
	for _, c := range conns {
		c.Close()
	}
	if found == 0 {
		die("no mailbox processes found")
	}
	fmt.Printf("pop3 logged in: %d mailbox processes, %d KB RSS and %d KB PSS each on average\n", found, rss/int64(found), pss/int64(found))
}

func goVersion() string {
	out, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(out))
}

func must(err error) {
	if err != nil {
		die("%v", err)
	}
}

func die(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "idlesessions: "+format+"\n", args...)
	os.Exit(1)
}
