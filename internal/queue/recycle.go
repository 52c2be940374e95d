package queue

import (
	"fmt"
	"os"
	"sync"
	"syscall"

	"goqmail/internal/plainfile"
)

// Finished message files are not unlinked but renamed into free/ and reused
// for new messages: the new message is written over the old bytes from
// offset 0 and the file truncated to its new length before the fsync. A
// queue that creates and deletes a file per message pays for an inode
// allocation and release each time, and on ext4 without a journal the
// allocator must skip every recently deleted inode (find_inode_bit,
// recently_deleted), which grows with the message rate; a reused file
// costs two renames. Files in free/ are garbage: nothing in them is ever
// delivered, recovery only counts them.
const (
	freePoolMax  = 4096
	freeMaxBytes = 256 << 10 // larger files are unlinked, not kept
)

type freePool struct {
	mu    sync.Mutex
	names []string
	seq   uint64
}

func (p *freePool) pop() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.names) == 0 {
		return ""
	}
	n := p.names[len(p.names)-1]
	p.names = p.names[:len(p.names)-1]
	return n
}

// reserve returns a new name for a file entering the pool, or "" if full.
func (p *freePool) reserve() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.names) >= freePoolMax {
		return ""
	}
	p.seq++
	return fmt.Sprintf("f%d", p.seq)
}

func (p *freePool) push(name string) {
	p.mu.Lock()
	p.names = append(p.names, name)
	p.mu.Unlock()
}

// createMessageFile opens a file for message id's content and returns
// its path: a pooled file, written where it lies in free/ (commit renames
// it straight to msg/ID, one rename instead of two; until then it is
// garbage like every file in free/), or a new tmp/ID when the pool is
// empty. pooled is the pool name, "" for a new file.
func (s *Server) createMessageFile(id string) (f *os.File, path, pooled string, err error) {
	for name := s.free.pop(); name != ""; name = s.free.pop() {
		path := s.Layout.Free(name)
		f, err := plainfile.Open(path, os.O_WRONLY|syscall.O_NOFOLLOW, 0)
		if err == nil {
			return f, path, name, nil
		}
		// Vanished or unusable: take another (an unusable one is left
		// for the next start's loadFree).
	}
	// Group-readable: goqmail-remote (group goqmail) reads queued messages,
	// as qmail-remote reads queue/mess.
	path = s.Layout.Tmp(id)
	f, err = plainfile.Open(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o640)
	return f, path, "", err
}

// recycle puts a file that is no longer a message into the pool, or
// unlinks it when the pool is full or the file is large.
func (s *Server) recycle(path string, size int64) error {
	if size <= freeMaxBytes {
		if name := s.free.reserve(); name != "" {
			if err := renameNoReplace(path, s.Layout.Free(name)); err == nil {
				s.free.push(name)
				return nil
			}
		}
	}
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

// loadFree fills the pool from free/ at start and removes what is beyond
// its limits.
func (s *Server) loadFree() error {
	ents, err := os.ReadDir(s.Layout.FreeDir())
	if err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	for _, e := range ents {
		path := s.Layout.Free(e.Name())
		info, err := e.Info()
		// A free file with a second name (a power loss kept both names of a
		// rename) is never reused: that would overwrite the other one.
		if err != nil || !info.Mode().IsRegular() || info.Size() > freeMaxBytes || len(s.free.names) >= freePoolMax || links(info) > 1 {
			os.Remove(path)
			continue
		}
		if info.Mode().Perm() != 0o640 {
			os.Chmod(path, 0o640) // files pooled by a version that made them 0600
		}
		// Rename into the pool's own naming so reserve never collides.
		name := s.free.reserve()
		if name == "" || os.Rename(path, s.Layout.Free(name)) != nil {
			os.Remove(path)
			continue
		}
		s.free.push(name)
	}
	return nil
}
