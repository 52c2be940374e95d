// Package metricsd is goqmail-metrics: it receives the programs' snapshots
// on ROOT/run/metrics.sock and serves their sum to Prometheus over HTTP
// (docs/metrics.md).
//
// SECURITY: runs as its own account (goqmailm, group goqmailm: it can read
// no control file, not the TLS key, no queue file, no mailbox). It trusts
// nothing it reads: a datagram counts only when the kernel's credentials
// (SO_PASSCRED) show the uid of the program it claims to come from, and
// its snapshot decodes strictly against the catalog (internal/metrics).
// Nothing flows back: no program reads from it or waits for it, so a
// stuck, dead or compromised goqmail-metrics cannot slow or stop mail.
package metricsd

import (
	"fmt"
	"sync"
	"time"

	"goqmail/internal/metrics"
)

// Reasons a datagram is refused, the label values of
// goqmail_metrics_snapshots_refused_total.
var refuseReasons = []string{"credentials", "uid", "decode", "backwards"}

// source is the last snapshot of one process (one pid).
type source struct {
	pid  int
	vals map[string]metrics.Value
}

// program is what one program has reported, across its restarts.
type program struct {
	cur     *source
	base    map[string]metrics.Value // counters and histograms of its earlier processes
	dropped uint64                   // snapshots its earlier processes could not send
	frames  uint64
	last    time.Time
}

// State sums the snapshots. Safe for concurrent use: the receiver writes,
// scrapes read.
type State struct {
	mu       sync.Mutex
	uids     map[string]int // program -> the uid it must send from
	progs    map[string]*program
	refused  map[string]uint64
	received uint64
}

// NewState accepts each program's snapshots from its uid only.
func NewState(uids map[string]int) *State {
	st := &State{uids: uids, progs: map[string]*program{}, refused: map[string]uint64{}}
	for _, p := range metrics.ProgramNames {
		st.progs[p] = &program{base: map[string]metrics.Value{}}
	}
	return st
}

// Refuse counts a datagram refused before it could be decoded.
func (st *State) Refuse(reason string) {
	st.mu.Lock()
	st.refused[reason]++
	st.mu.Unlock()
}

// Apply takes one datagram from the process pid running as uid.
func (st *State) Apply(uid, pid int, body []byte, now time.Time) error {
	s, err := metrics.Decode(body)
	if err != nil {
		st.Refuse("decode")
		return err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if want, ok := st.uids[s.Program]; !ok || want != uid {
		st.refused["uid"]++
		return fmt.Errorf("a snapshot for %s from uid %d (pid %d): %s runs as uid %d", s.Program, uid, pid, s.Program, want)
	}
	p := st.progs[s.Program]
	vals := make(map[string]metrics.Value, len(s.Series))
	for _, se := range s.Series {
		vals[metrics.SeriesKey(se.Family, se.Labels)] = se.Value
	}
	if p.cur != nil && p.cur.pid == pid {
		// The same process: its totals only grow.
		for k, old := range p.cur.vals {
			if k == droppedKey {
				continue
			}
			nv, ok := vals[k]
			if !ok || backwards(old, nv) {
				st.refused["backwards"]++
				return fmt.Errorf("a snapshot from %s (pid %d) whose %s went backwards or vanished", s.Program, pid, k)
			}
		}
		if s.Dropped < p.cur.dropped() {
			st.refused["backwards"]++
			return fmt.Errorf("a snapshot from %s (pid %d) whose dropped count went backwards", s.Program, pid)
		}
	} else if p.cur != nil {
		// A new process of the program: what the old one counted stays.
		for k, v := range p.cur.vals {
			p.base[k] = add(p.base[k], v)
		}
		p.dropped += p.cur.dropped()
	}
	vals[droppedKey] = metrics.Value{Count: s.Dropped}
	p.cur = &source{pid: pid, vals: vals}
	p.frames++
	p.last = now
	st.received++
	return nil
}

// droppedKey holds a process's own count of dropped snapshots in its
// source (no family has this name).
const droppedKey = "\x00dropped"

func (s *source) dropped() uint64 { return s.vals[droppedKey].Count }

func backwards(old, nv metrics.Value) bool {
	if nv.Count < old.Count {
		return true
	}
	for i := range old.Buckets {
		if i >= len(nv.Buckets) || nv.Buckets[i] < old.Buckets[i] {
			return true
		}
	}
	return false
}

func add(a, b metrics.Value) metrics.Value {
	out := metrics.Value{Count: a.Count + b.Count, Sum: a.Sum + b.Sum}
	if n := max(len(a.Buckets), len(b.Buckets)); n > 0 {
		out.Buckets = make([]uint64, n)
		for i := range out.Buckets {
			if i < len(a.Buckets) {
				out.Buckets[i] += a.Buckets[i]
			}
			if i < len(b.Buckets) {
				out.Buckets[i] += b.Buckets[i]
			}
		}
	}
	return out
}

// Value is the current total of one series: counters and histograms
// summed over the program's processes, gauges from its running one only.
func (st *State) Value(f *metrics.Family, labels []string) metrics.Value {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.value(f, labels)
}

func (st *State) value(f *metrics.Family, labels []string) metrics.Value {
	key := metrics.SeriesKey(f, labels)
	var v metrics.Value
	if f.Kind == metrics.Histogram {
		v.Buckets = make([]uint64, len(f.Buckets)+1)
	}
	for _, name := range f.From {
		p := st.progs[name]
		if f.Kind == metrics.Gauge {
			if p.cur != nil {
				v.Gauge += p.cur.vals[key].Gauge
			}
			continue
		}
		v = add(v, p.base[key])
		if p.cur != nil {
			v = add(v, p.cur.vals[key])
		}
	}
	return v
}
