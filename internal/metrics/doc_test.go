package metrics

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// ownMetrics are goqmail-metrics' own families (internal/metricsd).
var ownMetrics = []string{"goqmail_metrics_snapshots_total", "goqmail_metrics_snapshots_refused_total",
	"goqmail_metrics_snapshots_dropped_total", "goqmail_metrics_last_snapshot_timestamp_seconds"}

// TestDocNamesOnlyWhatExists: docs/metrics.md has a table row for every
// family, and every goqmail_ name it uses (in queries and alert rules
// too) is a family, one of goqmail-metrics' own, or a histogram's series.
func TestDocNamesOnlyWhatExists(t *testing.T) {
	b, err := os.ReadFile("../../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	known := map[string]bool{}
	for _, n := range ownMetrics {
		known[n] = true
	}
	for _, f := range All {
		known[f.Name] = true
		if f.Kind == Histogram {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				known[f.Name+s] = true
			}
		}
	}
	for _, n := range append(ownMetrics, names()...) {
		if !strings.Contains(doc, "| `"+n+"` |") {
			t.Errorf("docs/metrics.md has no table row for %s", n)
		}
	}
	for _, m := range regexp.MustCompile(`goqmail_[a-z_]+`).FindAllString(doc, -1) {
		if !known[m] {
			t.Errorf("docs/metrics.md names %s, which goqmail does not export", m)
		}
	}
}

func names() []string {
	var n []string
	for _, f := range All {
		n = append(n, f.Name)
	}
	return n
}
