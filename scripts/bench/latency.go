package main

import (
	"bytes"
	"fmt"
	"net"
	"net/textproto"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Single-message latency, measured by a client of our own: the clock
// starts before connect(2) and stops when the 250 after DATA's final dot
// has been read, so neither smtp-source's start-up nor its process
// creation is counted. One message at a time: the next probe starts only
// once the previous message is in the Maildir and the server's queue is
// empty again, so each probe meets an idle server.
//
// The client speaks plain RFC 5321 without pipelining (EHLO, MAIL, RCPT,
// DATA, one round trip each), as smtp-source does; both servers get the
// same dialogue.

const probeSize = 4096

type probeResult struct {
	accept  time.Duration // connect to the 250 after DATA
	deliver time.Duration // connect to the file's name in Maildir/new/
	disk    diskCount     // the device's counters from connect until the queue was empty
}

// probeMessage is a 4 KB message (header and body) like smtp-source -l 4096.
func probeMessage(seq int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: <bench@example.org>\r\nTo: <%s>\r\nSubject: latency probe %d\r\nMessage-ID: <probe%d.%d@example.org>\r\n\r\n",
		rcpt, seq, seq, time.Now().UnixNano())
	line := strings.Repeat("La de da de da ", 6)[:76] + "\r\n"
	for b.Len() < probeSize-len(line) {
		b.WriteString(line)
	}
	return b.Bytes()
}

// sendOne delivers one message over a new connection and returns the time
// from before the connect to the 250 after the data. QUIT is not timed.
func sendOne(port string, msg []byte) (time.Duration, error) {
	start := time.Now()
	nc, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 30*time.Second)
	if err != nil {
		return 0, fmt.Errorf("connect: %w", err)
	}
	defer nc.Close()
	nc.SetDeadline(start.Add(*timeout))
	c := textproto.NewConn(nc)
	step := func(code int, format string, args ...any) error {
		if format != "" {
			if err := c.PrintfLine(format, args...); err != nil {
				return err
			}
		}
		if _, _, err := c.ReadResponse(code); err != nil {
			return fmt.Errorf("after %q: %w", strings.SplitN(format, " ", 2)[0], err)
		}
		return nil
	}
	if err := step(220, ""); err != nil {
		return 0, err
	}
	if err := step(250, "EHLO bench.example.org"); err != nil {
		return 0, err
	}
	if err := step(250, "MAIL FROM:<bench@example.org>"); err != nil {
		return 0, err
	}
	if err := step(250, "RCPT TO:<%s>", rcpt); err != nil {
		return 0, err
	}
	if err := step(354, "DATA"); err != nil {
		return 0, err
	}
	w := c.DotWriter()
	if _, err := w.Write(msg); err != nil {
		return 0, err
	}
	if err := w.Close(); err != nil {
		return 0, err
	}
	if _, _, err := c.ReadResponse(250); err != nil {
		return 0, fmt.Errorf("after the data: %w", err)
	}
	took := time.Since(start)
	c.PrintfLine("QUIT")
	c.ReadResponse(221)
	return took, nil
}

// newWatch watches a Maildir's new/ for the name a delivery creates:
// goqmail renames its file into new/ (IN_MOVED_TO), Postfix links it
// (IN_CREATE).
type newWatch struct{ fd int }

func watchNew(dir string) *newWatch {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	must(err)
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_CREATE|unix.IN_MOVED_TO); err != nil {
		die("inotify %s: %v", dir, err)
	}
	return &newWatch{fd}
}

func (w *newWatch) close() { unix.Close(w.fd) }

// drain throws away events already queued.
func (w *newWatch) drain() {
	buf := make([]byte, 64<<10)
	for {
		if n, _ := unix.Read(w.fd, buf); n <= 0 {
			return
		}
	}
}

// wait returns once a name has appeared in new/, false at the deadline.
func (w *newWatch) wait(deadline time.Time) bool {
	buf := make([]byte, 64<<10)
	for {
		if n, _ := unix.Read(w.fd, buf); n > 0 {
			return true
		}
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		fds := []unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLIN}}
		unix.Poll(fds, int(left/time.Millisecond)+1)
	}
}

// prober sends probes to one server; setAside has run before it.
type prober struct {
	sv    server
	watch *newWatch
	seq   int
}

func newProber(sv server) *prober {
	newDir := filepath.Join(sv.maildir, "new")
	setAside(newDir)
	p := &prober{sv: sv, watch: watchNew(newDir)}
	for i := 0; i < 3; i++ { // warm up: Postfix starts its smtpd and local processes on demand
		p.probe()
	}
	return p
}

func (p *prober) close() { p.watch.close() }

func (p *prober) probe() probeResult {
	p.seq++
	msg := probeMessage(p.seq)
	p.watch.drain()
	d0 := dev.read()
	start := time.Now()
	accept, err := sendOne(p.sv.port, msg)
	if err != nil {
		die("latency probe %d to %s: %v", p.seq, p.sv.name, err)
	}
	deadline := start.Add(*timeout)
	if !p.watch.wait(deadline) {
		die("latency probe %d: %s did not deliver within %v", p.seq, p.sv.name, *timeout)
	}
	deliver := time.Since(start)
	for p.sv.queued() > 0 { // the queue's own work after the delivery, so the next probe meets an idle server
		if time.Now().After(deadline) {
			die("latency probe %d: %s still has %d queued after %v", p.seq, p.sv.name, p.sv.queued(), *timeout)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return probeResult{accept: accept, deliver: deliver, disk: dev.read().minus(d0)}
}

// latencyStats sums a set of probes.
type latencyStats struct {
	n                          int
	acc50, acc95, del50, del95 float64 // ms
	disk                       diskPerMsg
}

func statsOf(ps []probeResult) latencyStats {
	acc := make([]float64, len(ps))
	del := make([]float64, len(ps))
	var sum diskCount
	sum.hasFlush = true
	for i, p := range ps {
		acc[i], del[i] = ms(p.accept), ms(p.deliver)
		sum = sum.plus(p.disk)
	}
	return latencyStats{len(ps), percentile(acc, 50), percentile(acc, 95), percentile(del, 50), percentile(del, 95), sum.perMessage(dev, len(ps))}
}

func (s latencyStats) row(name, server string) string {
	return fmt.Sprintf("| %s | %s | %d | %.1f | %.1f | %.1f | %.1f | %s |", name, server, s.n, s.acc50, s.acc95, s.del50, s.del95, s.disk.cells())
}

const latencyHeader = "| scenario | server | probes | 250 after DATA p50 ms | p95 ms | in Maildir p50 ms | p95 ms | write req/msg | flushes/msg | KB written/msg |\n|---|---|---|---|---|---|---|---|---|---|"

// percentile is the nearest-rank percentile of v (sorted in place).
func percentile(v []float64, pct int) float64 {
	if len(v) == 0 {
		return 0
	}
	sort.Float64s(v)
	i := (pct*len(v)+99)/100 - 1
	if i < 0 {
		i = 0
	}
	return v[i]
}

// runLatency sends -probes messages to each server, one at a time,
// alternating probe by probe (goqmail first on even probes, Postfix first
// on odd ones), and prints the table and the ratio.
func runLatency(servers []server) string {
	name := "single message, 4 KB"
	ps := make([]*prober, len(servers))
	for i, sv := range servers {
		ps[i] = newProber(sv)
		defer ps[i].close()
	}
	res := make([][]probeResult, len(servers))
	for r := 0; r < *probes; r++ {
		for k := range servers {
			i := k
			if r%2 == 1 {
				i = len(servers) - 1 - k
			}
			res[i] = append(res[i], ps[i].probe())
		}
	}
	fmt.Printf("\n%s\n", latencyHeader)
	st := make([]latencyStats, len(servers))
	for i, sv := range servers {
		st[i] = statsOf(res[i])
		fmt.Println(st[i].row(name, sv.name))
	}
	g, p := st[0], st[1]
	return fmt.Sprintf("%s: goqmail/postfix = %.2fx p50, %.2fx p95 to the 250 after DATA (%.1f against %.1f ms; lower is better); %.2fx p50 into the Maildir (%d probes each, alternating)",
		name, g.acc50/p.acc50, g.acc95/p.acc95, g.acc50, p.acc50, g.del50/p.del50, g.n)
}
