package metricsd

import (
	"github.com/prometheus/client_golang/prometheus"

	"goqmail/internal/metrics"
)

// Collector presents State to the Prometheus client library: every series
// of the catalog (at 0 until reported), and the metrics process's own
// counts of what it received.
type Collector struct {
	State *State
	descs map[*metrics.Family]*prometheus.Desc
}

// Own metrics of goqmail-metrics.
var (
	descSnapshots = prometheus.NewDesc("goqmail_metrics_snapshots_total",
		"Snapshots accepted from each program.", []string{"program"}, nil)
	descRefused = prometheus.NewDesc("goqmail_metrics_snapshots_refused_total",
		"Datagrams refused: no credentials, a uid other than the program's, a snapshot that does not decode against the catalog, or totals that went backwards.", []string{"reason"}, nil)
	descDropped = prometheus.NewDesc("goqmail_metrics_snapshots_dropped_total",
		"Snapshots a program could not send (goqmail-metrics slow, stopped or its socket full), as the program reports them.", []string{"program"}, nil)
	descLast = prometheus.NewDesc("goqmail_metrics_last_snapshot_timestamp_seconds",
		"When the last snapshot of each program arrived (Unix time); 0: never.", []string{"program"}, nil)
)

// NewCollector describes every family of the catalog.
func NewCollector(st *State) *Collector {
	c := &Collector{State: st, descs: map[*metrics.Family]*prometheus.Desc{}}
	for _, f := range metrics.All {
		var names []string
		for _, l := range f.Labels {
			names = append(names, l.Name)
		}
		c.descs[f] = prometheus.NewDesc(f.Name, f.Help, names, nil)
	}
	return c
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, f := range metrics.All {
		ch <- c.descs[f]
	}
	for _, d := range []*prometheus.Desc{descSnapshots, descRefused, descDropped, descLast} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	st := c.State
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, f := range metrics.All {
		d := c.descs[f]
		for _, labels := range f.LabelSets() {
			v := st.value(f, labels)
			switch f.Kind {
			case metrics.Counter:
				ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v.Count), labels...)
			case metrics.Gauge:
				ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v.Gauge, labels...)
			case metrics.Histogram:
				cum := map[float64]uint64{}
				var n uint64
				for i, bound := range f.Buckets {
					n += v.Buckets[i]
					cum[bound] = n
				}
				n += v.Buckets[len(f.Buckets)]
				ch <- prometheus.MustNewConstHistogram(d, n, v.Sum, cum, labels...)
			}
		}
	}
	for _, name := range metrics.ProgramNames {
		p := st.progs[name]
		dropped := p.dropped
		var last float64
		if p.cur != nil {
			dropped += p.cur.dropped()
			last = float64(p.last.UnixNano()) / 1e9
		}
		ch <- prometheus.MustNewConstMetric(descSnapshots, prometheus.CounterValue, float64(p.frames), name)
		ch <- prometheus.MustNewConstMetric(descDropped, prometheus.CounterValue, float64(dropped), name)
		ch <- prometheus.MustNewConstMetric(descLast, prometheus.GaugeValue, last, name)
	}
	for _, r := range refuseReasons {
		ch <- prometheus.MustNewConstMetric(descRefused, prometheus.CounterValue, float64(st.refused[r]), r)
	}
}
