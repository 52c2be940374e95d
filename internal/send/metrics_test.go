package send

import (
	"path/filepath"
	"testing"
	"time"

	"goqmail/internal/metrics"
	"goqmail/internal/proto"
)

// TestMetricsCountDeliveries: each recipient's result is counted by kind
// and result, its attempt timed, a success's delay from arrival observed,
// and the queue gauges follow the messages.
func TestMetricsCountDeliveries(t *testing.T) {
	c, rec, clk := newTestCore(10, 7*24*time.Hour)
	c.Metrics = metrics.New(metrics.FromSend, filepath.Join(t.TempDir(), "none.sock"))
	m, st := msg("0000000000000001", "a@example.org", "b@example.org")
	c.AddMsg(m, st, true)
	clk.t = t0.Add(90 * time.Second)
	c.ReportQueue()
	s := c.Metrics.Snapshot()
	if got := s.Get(metrics.QueueMessages).Gauge; got != 1 {
		t.Errorf("queue messages %v, want 1", got)
	}
	if got := s.Get(metrics.QueueRecipients).Gauge; got != 2 {
		t.Errorf("pending recipients %v, want 2", got)
	}
	if got := s.Get(metrics.QueueOldest).Gauge; got != 90 {
		t.Errorf("oldest age %v, want 90", got)
	}
	c.Tick()
	if len(rec.delivers) != 2 {
		t.Fatalf("deliveries started: %d", len(rec.delivers))
	}
	clk.t = clk.t.Add(2 * time.Second)
	c.Report(proto.Report{Seq: rec.delivers[0].Seq, Result: proto.ResultSuccess, Text: "ok"})
	c.Report(proto.Report{Seq: rec.delivers[1].Seq, Result: proto.ResultDeferral, Text: "busy"})
	c.ReportQueue()
	s = c.Metrics.Snapshot()
	if got := s.Get(metrics.Deliveries, "local", "success").Count; got != 1 {
		t.Errorf("local successes %d, want 1", got)
	}
	if got := s.Get(metrics.Deliveries, "local", "deferral").Count; got != 1 {
		t.Errorf("local deferrals %d, want 1", got)
	}
	if d := s.Get(metrics.DeliveryDuration, "local"); d.HistCount() != 2 || d.Sum != 4 {
		t.Errorf("attempt durations: %d observations, sum %v; want 2 of 2 s", d.HistCount(), d.Sum)
	}
	if d := s.Get(metrics.DeliveryDelay, "local"); d.HistCount() != 1 || d.Sum != 92 {
		t.Errorf("delays: %d observations, sum %v; want 1 of 92 s", d.HistCount(), d.Sum)
	}
	if got := s.Get(metrics.QueueRecipients).Gauge; got != 1 {
		t.Errorf("pending recipients %v, want 1", got)
	}
}
