package metrics

import (
	"errors"
	"fmt"
	"math"

	"goqmail/internal/ipc"
)

// A snapshot travels as one datagram: an ipc frame body (version, type)
// of type frameSnapshot:
//
//	program   string (one of ProgramNames)
//	dropped   uint   snapshots this process could not send so far
//	n         uint   number of series, at most MaxSeries
//	n times:  family name string, label count uint, label values strings,
//	          then by the family's kind:
//	            counter:   value uint
//	            gauge:     value uint (IEEE 754 bits, finite, >= 0)
//	            histogram: bucket count uint (len(Buckets)+1), the counts
//	                       per bucket (not cumulative; the last is +Inf),
//	                       sum uint (IEEE 754 bits, finite, >= 0)
//
// Decode checks every field against the catalog and refuses leftovers.
const frameSnapshot = 'S'

// MaxSeries bounds the series of one snapshot; MaxDatagram its size.
const (
	MaxSeries   = 1024
	MaxDatagram = 64 << 10
)

// Value is one series' value: Count for a counter, Gauge for a gauge,
// Buckets (per bucket, the last one +Inf) and Sum for a histogram.
type Value struct {
	Count   uint64
	Gauge   float64
	Buckets []uint64
	Sum     float64
}

// Series is one family with one set of label values.
type Series struct {
	Family *Family
	Labels []string
	Value
}

// Snapshot is everything one process reports at once.
type Snapshot struct {
	Program string
	Dropped uint64
	Series  []Series
}

// ErrRefused wraps every reason Decode refuses a snapshot for.
var ErrRefused = errors.New("metrics: snapshot refused")

// Encode makes the datagram of s, reusing buf.
func Encode(s Snapshot, buf []byte) []byte {
	e := ipc.New(frameSnapshot, buf)
	e.String(s.Program).Uint(s.Dropped).Uint(uint64(len(s.Series)))
	for _, se := range s.Series {
		e.String(se.Family.Name).Uint(uint64(len(se.Labels)))
		for _, l := range se.Labels {
			e.String(l)
		}
		switch se.Family.Kind {
		case Counter:
			e.Uint(se.Count)
		case Gauge:
			e.Uint(math.Float64bits(se.Gauge))
		case Histogram:
			e.Uint(uint64(len(se.Buckets)))
			for _, b := range se.Buckets {
				e.Uint(b)
			}
			e.Uint(math.Float64bits(se.Sum))
		}
	}
	return e.Body()
}

// Decode reads a datagram strictly: the frame format, then the catalog's
// rules (a known program, families it may report, label values from the
// declared sets, no series twice, sane numbers).
func Decode(body []byte) (Snapshot, error) {
	var s Snapshot
	if len(body) > MaxDatagram {
		return s, fmt.Errorf("%w: %d bytes", ErrRefused, len(body))
	}
	typ, d, err := ipc.NewDecoder(body)
	if err != nil {
		return s, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	if typ != frameSnapshot {
		return s, fmt.Errorf("%w: frame type %q", ErrRefused, typ)
	}
	s.Program = d.String(16)
	s.Dropped = d.Uint()
	n := d.UintMax(MaxSeries)
	if d.Err() != nil {
		return s, fmt.Errorf("%w: %w", ErrRefused, d.Err())
	}
	known := false
	for _, p := range ProgramNames {
		known = known || p == s.Program
	}
	if !known {
		return s, fmt.Errorf("%w: unknown program %q", ErrRefused, s.Program)
	}
	seen := map[string]bool{}
	for i := uint64(0); i < n; i++ {
		name := d.String(64)
		nl := d.UintMax(8)
		labels := make([]string, 0, nl)
		for j := uint64(0); j < nl; j++ {
			labels = append(labels, d.String(64))
		}
		if d.Err() != nil {
			return s, fmt.Errorf("%w: %w", ErrRefused, d.Err())
		}
		f := Lookup(name)
		switch {
		case f == nil:
			return s, fmt.Errorf("%w: unknown metric %q", ErrRefused, name)
		case !f.ReportedBy(s.Program):
			return s, fmt.Errorf("%w: %s may not report %s", ErrRefused, s.Program, name)
		case !f.validLabels(labels):
			return s, fmt.Errorf("%w: %s: labels %q are not in the catalog", ErrRefused, name, labels)
		}
		key := SeriesKey(f, labels)
		if seen[key] {
			return s, fmt.Errorf("%w: %s%q twice", ErrRefused, name, labels)
		}
		seen[key] = true
		se := Series{Family: f, Labels: labels}
		switch f.Kind {
		case Counter:
			se.Count = d.Uint()
		case Gauge:
			se.Gauge = math.Float64frombits(d.Uint())
			if !sane(se.Gauge) {
				return s, fmt.Errorf("%w: %s: gauge value %v", ErrRefused, name, se.Gauge)
			}
		case Histogram:
			nb := d.Uint()
			if d.Err() == nil && nb != uint64(len(f.Buckets)+1) {
				return s, fmt.Errorf("%w: %s: %d buckets, want %d", ErrRefused, name, nb, len(f.Buckets)+1)
			}
			se.Buckets = make([]uint64, len(f.Buckets)+1)
			for j := range se.Buckets {
				se.Buckets[j] = d.Uint()
			}
			se.Sum = math.Float64frombits(d.Uint())
			if d.Err() == nil && !sane(se.Sum) {
				return s, fmt.Errorf("%w: %s: sum %v", ErrRefused, name, se.Sum)
			}
		}
		s.Series = append(s.Series, se)
	}
	if err := d.End(); err != nil {
		return s, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	return s, nil
}

func sane(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) && v >= 0 }

// SeriesKey names a series uniquely: the family and its label values.
func SeriesKey(f *Family, labels []string) string {
	k := f.Name
	for _, l := range labels {
		k += "\x00" + l
	}
	return k
}

// Count is a histogram's number of observations.
func (v Value) HistCount() uint64 {
	var n uint64
	for _, b := range v.Buckets {
		n += b
	}
	return n
}
