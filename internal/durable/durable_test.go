package durable

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestParseMode(t *testing.T) {
	for in, want := range map[string]Mode{"fsync": Fsync, "syncfs": Syncfs, " fsync ": Fsync, "journal": Journal} {
		if got, err := ParseMode(in); err != nil || got != want {
			t.Errorf("ParseMode(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseMode("sometimes"); err == nil {
		t.Error("ParseMode accepted nonsense")
	}
	// The default never flushes other programs' data (issue 12): the
	// queue's journal, fsync for single files.
	for _, in := range []string{"auto", ""} {
		if m, err := ParseMode(in); err != nil || m != Journal {
			t.Errorf("ParseMode(%q) = %v, %v; want journal", in, m, err)
		}
	}
}

// Both modes: many concurrent writers each get their file renamed into
// place and reported durable with its content intact.
func TestModesCommitConcurrently(t *testing.T) {
	for _, mode := range []Mode{Journal, Fsync, Syncfs} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			tmp, dst := filepath.Join(dir, "tmp"), filepath.Join(dir, "new")
			os.Mkdir(tmp, 0o755)
			os.Mkdir(dst, 0o755)
			s := &Syncer{Mode: mode}
			var wg sync.WaitGroup
			for i := 0; i < 40; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					name := string(rune('a'+i%26)) + string(rune('a'+i/26))
					f, err := os.Create(filepath.Join(tmp, name))
					if err != nil {
						t.Error(err)
						return
					}
					defer f.Close()
					f.WriteString(name)
					if err := s.File(f); err != nil {
						t.Error(err)
					}
					if err := os.Rename(filepath.Join(tmp, name), filepath.Join(dst, name)); err != nil {
						t.Error(err)
					}
					if err := s.Name(dst, f); err != nil {
						t.Error(err)
					}
				}(i)
			}
			wg.Wait()
			ents, _ := os.ReadDir(dst)
			if len(ents) != 40 {
				t.Fatalf("%d files committed", len(ents))
			}
			for _, e := range ents {
				if b, _ := os.ReadFile(filepath.Join(dst, e.Name())); string(b) != e.Name() {
					t.Errorf("%s holds %q", e.Name(), b)
				}
			}
		})
	}
}
