package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	osuser "os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Relay scenarios: smtp-source sends to relay.example, which neither
// server treats as local; each relays it to its own Postfix smtp-sink on
// loopback (goqmail through control/smtproutes, Postfix through a
// transport map), so a late retry by one server can never be counted for
// the other. Nothing leaves 127.0.0.1.
const (
	relayDomain = "relay.example"
	relayRcpt   = "bench@" + relayDomain // smtp-source -r N prepends N-1..2 to it
	gqSinkPort  = "2627"
	pfSinkPort  = "2628"
	sinkPath    = "/usr/sbin/smtp-sink"
	remoteConc  = 20 // goqmail's concurrencyremote default; Postfix's destination concurrency default
)

// relayControl makes goqmail accept mail for relay.example (rcpthosts, as
// qmail: the domain we relay for, not an open relay for 127.0.0.1) and
// route it to its sink (qmail's smtproutes syntax domain:relay:port).
func relayControl(root string) {
	ctl := filepath.Join(root, "control")
	f, err := os.OpenFile(filepath.Join(ctl, "rcpthosts"), os.O_APPEND|os.O_WRONLY, 0o644)
	must(err)
	_, err = f.WriteString(relayDomain + "\n")
	must(err)
	must(f.Close())
	must(os.WriteFile(filepath.Join(ctl, "smtproutes"), []byte(relayDomain+":127.0.0.1:"+gqSinkPort+"\n"), 0o644))
	must(os.WriteFile(filepath.Join(ctl, "concurrencyremote"), []byte(strconv.Itoa(remoteConc)+"\n"), 0o644))
	// One destination domain, as Postfix's smtp_destination_concurrency_limit.
	must(os.WriteFile(filepath.Join(ctl, "concurrencyremotedomain"), []byte(strconv.Itoa(remoteConc)+"\n"), 0o644))
}

// postfixRelayConf is the main.cf part that relays relay.example to
// Postfix's sink like goqmail's smtproutes: a transport map to a bracketed
// address (no MX lookup), DNS off, no TLS, destination concurrency 20.
// mynetworks (127.0.0.0/8) lets smtp-source relay.
func postfixRelayConf() string {
	return strings.Join([]string{
		"transport_maps = inline:{" + relayDomain + "=smtp:[127.0.0.1]:" + pfSinkPort + "}",
		"smtp_destination_concurrency_limit = " + strconv.Itoa(remoteConc),
		"default_destination_concurrency_limit = " + strconv.Itoa(remoteConc),
		"smtp_dns_support_level = disabled",
		"smtp_host_lookup = native",
		"smtp_tls_security_level = none",
		"smtpd_tls_security_level = none",
		"",
	}, "\n")
}

// sink is one smtp-sink process that counts what it receives. It runs with
// -v, which logs every SMTP command on stderr: smtp-sink's -c counters
// count messages and sessions but not recipients, and the log is the one
// place smtp-sink says how many RCPTs arrived. Logging costs the sink
// about 40 µs per message here, the same work for both servers.
type sink struct {
	cmd                *exec.Cmd
	mails, rcpts, dots atomic.Int64
	readDone           chan struct{}
}

type sinkCounts struct{ mails, rcpts, dots int64 }

func (c sinkCounts) minus(b sinkCounts) sinkCounts {
	return sinkCounts{c.mails - b.mails, c.rcpts - b.rcpts, c.dots - b.dots}
}

// startSink runs smtp-sink on 127.0.0.1:port as nobody (it refuses to run
// as root without -u, and -u would clear the parent-death signal that
// kills it if bench dies).
func startSink(port string) *sink {
	nobody, err := osuser.Lookup("nobody")
	must(err)
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	r, w, err := os.Pipe()
	must(err)
	// A 1 MB pipe (about 40,000 log lines) so the sink never waits for us.
	unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, 1<<20)
	cmd := exec.Command(sinkPath, "-v", "127.0.0.1:"+port, "256")
	cmd.Stderr = w
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)},
		Pdeathsig:  syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		die("smtp-sink: %v", err)
	}
	w.Close()
	s := &sink{cmd: cmd, readDone: make(chan struct{})}
	go s.count(r)
	waitPort(port)
	return s
}

// count reads smtp-sink's -v log: "/usr/sbin/smtp-sink: MAIL FROM:<...>",
// "...: RCPT TO:<...>", "...: ." (end of data).
func (s *sink) count(r *os.File) {
	defer close(s.readDone)
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		_, cmd, ok := bytes.Cut(sc.Bytes(), []byte(": "))
		switch {
		case !ok:
		case hasPrefixFold(cmd, "RCPT TO:"):
			s.rcpts.Add(1)
		case hasPrefixFold(cmd, "MAIL FROM:"):
			s.mails.Add(1)
		case len(cmd) == 1 && cmd[0] == '.':
			s.dots.Add(1)
		}
	}
}

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && strings.EqualFold(string(b[:len(prefix)]), prefix)
}

func (s *sink) counts() sinkCounts {
	return sinkCounts{s.mails.Load(), s.rcpts.Load(), s.dots.Load()}
}

func (s *sink) stop() {
	s.cmd.Process.Kill()
	s.cmd.Wait()
	select {
	case <-s.readDone:
	case <-time.After(5 * time.Second):
	}
}

// runRelay sends sc.count messages of sc.rcpts recipients each with
// smtp-source and times acceptance and arrival at the sink: done when the
// sink has seen every recipient and as many ends of data as messages (both
// servers send a message's recipients of one domain in one transaction).
// Then, untimed, it waits for the server's queue to empty, so the next run
// starts on an idle server, and checks the sink saw nothing extra.
func runRelay(sv server, sc scenario) result {
	base := sv.sink.counts()
	wantRcpts := int64(sc.count * sc.rcpts)
	cs := startCPU()
	d0 := dev.read()
	start := time.Now()
	cmd := exec.Command("smtp-source", "-s", strconv.Itoa(sc.sessions), "-l", strconv.Itoa(sc.size),
		"-m", strconv.Itoa(sc.count), "-r", strconv.Itoa(sc.rcpts),
		"-f", "bench@example.org", "-t", relayRcpt, "127.0.0.1:"+sv.port)
	out, err := cmd.CombinedOutput()
	if err != nil {
		die("smtp-source against %s: %v\n%s", sv.name, err, out)
	}
	accepted := time.Since(start)
	left := int64(sc.count) - sv.sink.counts().minus(base).dots
	deadline := start.Add(*timeout)
	for {
		c := sv.sink.counts().minus(base)
		if c.rcpts >= wantRcpts && c.dots >= int64(sc.count) {
			break
		}
		if time.Now().After(deadline) {
			die("%s: the sink has %d of %d recipients, %d of %d messages after %v; %d messages queued; logs in %s%s",
				sv.name, c.rcpts, wantRcpts, c.dots, sc.count, *timeout, sv.queued(), *work, logTrouble(sv.name))
		}
		time.Sleep(10 * time.Millisecond)
	}
	relayed := time.Since(start)
	disk := dev.read().minus(d0) // at the sink: the queue's finishing writes may come after
	usage := cs.finish()
	for n := sv.queued(); n > 0; n = sv.queued() {
		if time.Now().After(deadline) {
			die("%s: %d messages still queued after %v", sv.name, n, *timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if c := sv.sink.counts().minus(base); c.rcpts != wantRcpts || c.dots != int64(sc.count) || c.mails != c.dots {
		fmt.Fprintf(os.Stderr, "bench: %s, %s: the sink saw %d recipients (want %d), %d messages (want %d), %d MAIL commands\n",
			sv.name, sc.name, c.rcpts, wantRcpts, c.dots, sc.count, c.mails)
	}
	return result{accept: accepted, deliver: relayed, disk: disk, cpu: usage, left: left}
}

// goqmailQueued counts committed messages (queue/msg/<id>, without the
// .state logs); finished message files move to queue/free/.
func goqmailQueued() int {
	n := 0
	ents, _ := os.ReadDir(filepath.Join(*work, "gq", "queue", "msg"))
	for _, e := range ents {
		if !strings.Contains(e.Name(), ".") {
			n++
		}
	}
	return n
}

// postfixQueued counts files in Postfix's message queues (hashed
// subdirectories included).
func postfixQueued() int {
	n := 0
	for _, q := range []string{"maildrop", "incoming", "active", "deferred", "hold"} {
		filepath.WalkDir(filepath.Join(*work, "pf", "spool", q), func(_ string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				n++
			}
			return nil
		})
	}
	return n
}

// logTrouble returns the last lines of a server's log that mention
// trouble, so that a run that timed out says why.
func logTrouble(name string) string {
	troubleWords := []string{"deferral:", "failure:", "warning:", "error", "fatal:", "panic", "status=deferred", "status=bounced", "refused"}
	file := filepath.Join(*work, "goqmail.log")
	if name == "postfix" {
		file = filepath.Join(*work, "pf", "maillog")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "\n" + err.Error()
	}
	var hits []string
	for _, l := range strings.Split(string(b), "\n") {
		for _, w := range troubleWords {
			if strings.Contains(l, w) && !strings.Contains(l, "postfix-script") {
				hits = append(hits, l)
				break
			}
		}
	}
	hits = hits[max(0, len(hits)-20):]
	return "\nlast trouble in " + file + ":\n" + strings.Join(hits, "\n")
}

// reportLogProblems prints, on stderr, how many deferrals and failures each
// server logged: a relay run should have none, and a retry would be timed
// as waiting for the retry schedule.
func reportLogProblems() {
	check := func(name, file, ignore string, patterns ...string) {
		b, err := os.ReadFile(file)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: %s log: %v\n", name, err)
			return
		}
		for _, p := range patterns {
			n, first := 0, ""
			for _, l := range strings.Split(string(b), "\n") {
				if strings.Contains(l, p) && (ignore == "" || !strings.Contains(l, ignore)) {
					if n == 0 {
						first = l
					}
					n++
				}
			}
			if n > 0 {
				fmt.Fprintf(os.Stderr, "bench: %s log: %d lines with %q, first: %s\n", name, n, p, first)
			}
		}
	}
	check("goqmail", filepath.Join(*work, "goqmail.log"), "", "deferral:", "failure:", "warning:", "panic")
	// postfix-script says "fatal: not running" when bench stops a
	// stopped instance before starting it.
	check("postfix", filepath.Join(*work, "pf", "maillog"), "postfix-script", "status=deferred", "status=bounced", "warning:", "fatal:")
}

// backlog says, for relay runs, how many messages were still queued when
// smtp-source had finished and how fast they then left (median): the
// outbound path alone, no longer sharing the CPUs with the inbound one.
func backlog(rs []result) string {
	var left []string
	var rates []float64
	for _, r := range rs {
		if r.left <= 0 {
			continue
		}
		left = append(left, strconv.FormatInt(r.left, 10))
		rates = append(rates, float64(r.left)/(r.deliver-r.accept).Seconds())
	}
	if len(rates) == 0 {
		return ""
	}
	sort.Float64s(rates)
	return fmt.Sprintf("; left when smtp-source ended: %s, then %.0f msg/s", strings.Join(left, " "), rates[len(rates)/2])
}
