package mailstore

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"goqmail/internal/maildir"
)

// The listing of a large folder (scripts/bench -only webmail has the
// 100,000-message figures of docs/bench.md). GOQMAIL_BENCH_MSGS sets
// the folder size (default 20,000, to keep `go test -bench` short).

var (
	benchOnce sync.Once
	benchRoot string
)

// TestMain removes the benchmarks' Maildir, made once for all of them.
func TestMain(m *testing.M) {
	code := m.Run()
	if benchRoot != "" {
		os.RemoveAll(filepath.Dir(benchRoot))
	}
	os.Exit(code)
}

func benchMaildir(b *testing.B) string {
	benchOnce.Do(func() {
		n := 20000
		if v := os.Getenv("GOQMAIL_BENCH_MSGS"); v != "" {
			fmt.Sscan(v, &n)
		}
		dir, err := os.MkdirTemp("", "mailstore-bench")
		if err != nil {
			b.Fatal(err)
		}
		benchRoot = filepath.Join(dir, "Maildir")
		if err := maildir.Make(benchRoot, 0o700); err != nil {
			b.Fatal(err)
		}
		base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := 0; i < n; i++ {
			d := base.Add(time.Duration(i) * time.Minute)
			msg := fmt.Sprintf("From: Sender %d <s%d@example.org>\r\nTo: me@example.com\r\nSubject: Message %d\r\nDate: %s\r\n\r\nbody\r\n",
				i%100, i%100, i, d.Format(time.RFC1123Z))
			sub, name := "cur", fmt.Sprintf("%d.M%dP1.bench,S=%d:2,S", d.Unix(), i, len(msg))
			if i%5 == 0 {
				sub, name = "new", fmt.Sprintf("%d.M%dP1.bench,S=%d", d.Unix(), i, len(msg))
			}
			if err := os.WriteFile(filepath.Join(benchRoot, sub, name), []byte(msg), 0o600); err != nil {
				b.Fatal(err)
			}
		}
	})
	return benchRoot
}

// BenchmarkListSameSession: the next page in a session that listed the
// folder before.
func BenchmarkListSameSession(b *testing.B) {
	s, _ := Open(benchMaildir(b))
	s.List(Inbox, ListOptions{Limit: 50})
	s.WaitIndex()
	b.ResetTimer()
	defer reportCPU(b)()
	for i := 0; i < b.N; i++ {
		if _, _, err := s.List(Inbox, ListOptions{Offset: 50 * (i % 100), Limit: 50}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListNewSession: the first page of a new session, the index on
// disk.
func BenchmarkListNewSession(b *testing.B) {
	root := benchMaildir(b)
	s, _ := Open(root)
	s.List(Inbox, ListOptions{Limit: 50})
	s.WaitIndex()
	b.ResetTimer()
	defer reportCPU(b)()
	for i := 0; i < b.N; i++ {
		s, _ := Open(root)
		if _, _, err := s.List(Inbox, ListOptions{Limit: 50}); err != nil {
			b.Fatal(err)
		}
	}
}

// reportCPU adds the process's CPU time (user+system) per operation, a
// figure that a machine busy with other work disturbs less than ns/op.
func reportCPU(b *testing.B) func() {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start := cpu()
	return func() {
		b.ReportMetric(float64((cpu()-start).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	}
}
