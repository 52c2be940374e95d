// Package dirsync makes directory entries durable and lets concurrent callers
// share the cost: a group commit for fsync(2) on directories.
//
// Creating, linking or renaming a file changes its directory, and on Linux
// that change reaches the disk only when the directory itself is fsync'd
// (qmail assumed BSD FFS synchronous metadata and never did this; we do).
// One fsync of a directory covers every change made to it before the fsync
// started, so callers that arrive while a sync is running wait for the next
// one and all share it: throughput grows with concurrency instead of being
// capped at one directory fsync per message.
package dirsync

import (
	"fmt"
	"sync"

	"goqmail/internal/plainfile"
)

// Syncer coalesces fsyncs per directory. The zero value is ready to use.
type Syncer struct {
	mu   sync.Mutex
	dirs map[string]*dirState
}

type dirState struct {
	mu      sync.Mutex
	cond    *sync.Cond
	started uint64 // generation of the most recently started sync
	done    uint64 // generation of the most recently finished sync
	running bool
	errs    map[uint64]error // errors of finished generations still awaited
	waiters map[uint64]int
}

func (s *Syncer) state(dir string) *dirState {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dirs == nil {
		s.dirs = make(map[string]*dirState)
	}
	d := s.dirs[dir]
	if d == nil {
		d = &dirState{errs: make(map[uint64]error), waiters: make(map[uint64]int)}
		d.cond = sync.NewCond(&d.mu)
		s.dirs[dir] = d
	}
	return d
}

// Sync returns once an fsync of dir that started after this call began has
// completed, and returns that fsync's error. Changes the caller made to dir
// before calling Sync are then on stable storage.
func (s *Syncer) Sync(dir string) error {
	return s.Do(dir, func() error { return fsyncDir(dir) })
}

// Do is the group commit itself: it returns once a run of fn for key that
// started after this call began has finished, with that run's error.
// Callers arriving while a run is going on share the next one. All callers
// for one key must pass an fn with the same effect.
func (s *Syncer) Do(key string, fn func() error) error {
	d := s.state(key)
	d.mu.Lock()
	defer d.mu.Unlock()
	// A sync already running may have started before our change: we need
	// the generation after it.
	want := d.started + 1
	d.waiters[want]++
	for d.done < want {
		if !d.running && d.started < want {
			d.started = want
			d.running = true
			d.mu.Unlock()
			err := fn()
			d.mu.Lock()
			d.running = false
			d.done = want
			d.errs[want] = err
			d.cond.Broadcast()
			break
		}
		d.cond.Wait()
	}
	err := d.errs[want]
	d.waiters[want]--
	if d.waiters[want] == 0 {
		delete(d.waiters, want)
		delete(d.errs, want)
	}
	return err
}

// Dir fsyncs one directory without sharing.
func Dir(dir string) error { return fsyncDir(dir) }

func fsyncDir(dir string) error {
	if err := plainfile.SyncDir(dir); err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}
