package dirsync

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestSyncConcurrentShares(t *testing.T) {
	dir := t.TempDir()
	var s Syncer
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if err := os.WriteFile(filepath.Join(dir, string(rune('a'+i%26))+"x"), nil, 0o644); err != nil {
				t.Error(err)
			}
			if err := s.Sync(dir); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	d := s.state(dir)
	if d.done == 0 || d.done > 50 {
		t.Fatalf("generations done = %d, want 1..50", d.done)
	}
	if len(d.errs) != 0 || len(d.waiters) != 0 {
		t.Fatalf("leaked bookkeeping: errs=%d waiters=%d", len(d.errs), len(d.waiters))
	}
}

func TestSyncMissingDirReportsError(t *testing.T) {
	var s Syncer
	if err := s.Sync(filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Fatal("Sync of a missing directory returned nil")
	}
}
