package metrics

import (
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Client keeps one program's counts and sends them to goqmail-metrics. A
// nil *Client (metrics off) accepts every call and does nothing, so the
// programs call it without checking.
type Client struct {
	prog string
	path string
	fd   int

	mu      sync.Mutex
	series  map[string]*Series
	order   []*Series
	dirty   bool
	dropped uint64
	sent    time.Time
	buf     []byte // the last snapshot sent
}

// Socket is where the metrics socket lives under a goqmail root.
func Socket(root string) string { return filepath.Join(root, "run", "metrics.sock") }

// EnvOn is set by the supervisor when goqmail-metrics runs
// (control/metricslisten lists an address).
const EnvOn = "GOQMAIL_METRICS"

// FromEnv returns a running client for prog when the supervisor says
// metrics are on, else nil.
func FromEnv(prog, root string) *Client {
	if os.Getenv(EnvOn) != "1" {
		return nil
	}
	c := New(prog, Socket(root))
	go c.Run(time.Second)
	return c
}

// New returns a client for prog sending to the datagram socket at path.
// A socket that cannot be made leaves a client that counts every snapshot
// as dropped: metrics never stop a program.
func New(prog, path string) *Client {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		fd = -1
	}
	return &Client{prog: prog, path: path, fd: fd, series: map[string]*Series{}}
}

// get returns the series, made on first use; nil for label values outside
// the catalog (a programming mistake, caught by the tests of each caller,
// never a reason to stop mail).
func (c *Client) get(f *Family, labels []string) *Series {
	key := SeriesKey(f, labels)
	if s := c.series[key]; s != nil {
		return s
	}
	if !f.validLabels(labels) || !f.ReportedBy(c.prog) {
		return nil
	}
	s := &Series{Family: f, Labels: slices.Clone(labels)}
	if f.Kind == Histogram {
		s.Buckets = make([]uint64, len(f.Buckets)+1)
	}
	c.series[key] = s
	c.order = append(c.order, s)
	return s
}

// Add adds n to a counter.
func (c *Client) Add(f *Family, n uint64, labels ...string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.get(f, labels); s != nil && f.Kind == Counter {
		s.Count += n
		c.dirty = true
	}
}

// Inc adds one to a counter.
func (c *Client) Inc(f *Family, labels ...string) { c.Add(f, 1, labels...) }

// Set sets a gauge.
func (c *Client) Set(f *Family, v float64, labels ...string) {
	if c == nil || !sane(v) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.get(f, labels); s != nil && f.Kind == Gauge && s.Gauge != v {
		s.Gauge = v
		c.dirty = true
	}
}

// Observe records one duration in a histogram.
func (c *Client) Observe(f *Family, d time.Duration, labels ...string) {
	if c == nil {
		return
	}
	v := max(d.Seconds(), 0)
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.get(f, labels)
	if s == nil || f.Kind != Histogram {
		return
	}
	i, _ := slices.BinarySearch(f.Buckets, v) // the first bound >= v; len = +Inf
	s.Buckets[i]++
	s.Sum += v
	c.dirty = true
}

// heartbeat: a snapshot goes out this often even when nothing changed, so
// a restarted goqmail-metrics learns the totals.
const heartbeat = 15 * time.Second

// Run sends a snapshot every interval when something changed (and every
// heartbeat regardless). It never returns.
func (c *Client) Run(interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for range t.C {
		c.mu.Lock()
		due := c.dirty || time.Since(c.sent) >= heartbeat
		c.mu.Unlock()
		if due {
			c.Flush()
		}
	}
}

// Flush sends a snapshot now, without blocking: a full or missing socket
// drops it, and the count of dropped snapshots goes with the next one.
func (c *Client) Flush() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Snapshot{Program: c.prog, Dropped: c.dropped}
	for _, se := range c.order {
		s.Series = append(s.Series, *se)
	}
	c.buf = Encode(s, nil) // once a second: no reuse needed
	c.dirty, c.sent = false, time.Now()
	var err error = unix.EBADF
	if c.fd >= 0 {
		err = unix.Sendto(c.fd, c.buf, unix.MSG_DONTWAIT, &unix.SockaddrUnix{Name: c.path})
	}
	if err != nil {
		c.dropped++
		c.dirty = true // try again at the next tick
		return err
	}
	return nil
}

// Dropped is the number of snapshots that could not be sent.
func (c *Client) Dropped() uint64 {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dropped
}

// Snapshot returns what the next Flush would send.
func (c *Client) Snapshot() Snapshot {
	if c == nil {
		return Snapshot{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Snapshot{Program: c.prog, Dropped: c.dropped}
	for _, se := range c.order {
		cp := *se
		cp.Buckets = slices.Clone(se.Buckets)
		s.Series = append(s.Series, cp)
	}
	return s
}

// Get returns the value of one series in a snapshot (zero when absent).
func (s Snapshot) Get(f *Family, labels ...string) Value {
	for _, se := range s.Series {
		if se.Family == f && slices.Equal(se.Labels, labels) {
			return se.Value
		}
	}
	return Value{}
}
