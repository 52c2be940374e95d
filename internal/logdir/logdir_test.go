package logdir

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// clock returns a Dir clock that moves one second per call, so every
// rotation gets a name of its own and the names sort in order.
func clock() func() time.Time {
	t := time.Date(2026, 1, 26, 1, 2, 3, 0, time.UTC)
	return func() time.Time { t = t.Add(time.Second); return t }
}

func line(i int) string {
	return fmt.Sprintf("2026-01-26T01:02:03.000000Z send: line %04d %s\n", i, strings.Repeat("x", 40))
}

func readAll(t *testing.T, dir string) (string, []string) {
	t.Helper()
	files, err := Files(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, f := range files {
		c, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(c)
	}
	return b.String(), files
}

// Lines written one at a time and in batches come back whole and in order
// across the rotated files, none of which is larger than the size, and only
// Keep finished files stay.
func TestRotationKeepsWholeLinesInOrder(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(dir, 1000, 100)
	if err != nil {
		t.Fatal(err)
	}
	d.now = clock()
	var want strings.Builder
	for i := 0; i < 60; i++ {
		p := line(i)
		if i%7 == 0 { // a batch of three lines
			p += line(1000+i) + line(2000+i)
		}
		want.WriteString(p)
		if n, err := d.Write([]byte(p)); err != nil || n != len(p) {
			t.Fatalf("Write: %d, %v", n, err)
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	got, files := readAll(t, dir)
	if got != want.String() {
		t.Fatalf("the files hold other lines than were written")
	}
	if len(files) < 4 {
		t.Fatalf("only %d files: no rotation", len(files))
	}
	for _, f := range files {
		st, _ := os.Stat(f)
		c, _ := os.ReadFile(f)
		if st.Size() > 1000 || !strings.HasSuffix(string(c), "\n") {
			t.Errorf("%s: %d bytes, ends %q", f, st.Size(), c[len(c)-1:])
		}
		wantMode := os.FileMode(finishedMode)
		if filepath.Base(f) == Current {
			wantMode = fileMode
		}
		if st.Mode().Perm() != wantMode {
			t.Errorf("%s: mode %#o, want %#o", f, st.Mode().Perm(), wantMode)
		}
	}
}

func TestKeepRemovesTheOldest(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(dir, 4096, 2)
	if err != nil {
		t.Fatal(err)
	}
	d.now = clock()
	for i := 0; i < 5; i++ {
		d.Write([]byte(line(i)))
		if err := d.Rotate(); err != nil {
			t.Fatal(err)
		}
	}
	old, _ := Finished(dir)
	if len(old) != 2 {
		t.Fatalf("finished files %v, want the newest 2", old)
	}
	got, _ := readAll(t, dir)
	if got != line(3)+line(4) {
		t.Fatalf("kept %q, want lines 3 and 4", got)
	}
	// A smaller keep (SIGHUP) applies at the next rotation.
	d.SetLimits(4096, 1)
	d.Write([]byte(line(5)))
	d.Rotate()
	if old, _ := Finished(dir); len(old) != 1 {
		t.Fatalf("after keep 1: %v", old)
	}
}

// A crash after current was marked finished and before its rename leaves
// a marked current: Open finishes it instead of appending to it.
func TestOpenFinishesAMarkedCurrent(t *testing.T) {
	dir := t.TempDir()
	cur := filepath.Join(dir, Current)
	os.WriteFile(cur, []byte(line(1)), 0o600)
	os.Chmod(cur, finishedMode)
	d, err := Open(dir, 4096, 10)
	if err != nil {
		t.Fatal(err)
	}
	d.Write([]byte(line(2)))
	d.Close()
	old, _ := Finished(dir)
	if len(old) != 1 {
		t.Fatalf("finished files %v, want the marked current", old)
	}
	if c, _ := os.ReadFile(old[0]); string(c) != line(1) {
		t.Errorf("%s holds %q", old[0], c)
	}
	if c, _ := os.ReadFile(cur); string(c) != line(2) {
		t.Errorf("current holds %q", c)
	}
	// An unmarked current is appended to.
	d, _ = Open(dir, 4096, 10)
	d.Write([]byte(line(3)))
	d.Close()
	if c, _ := os.ReadFile(cur); string(c) != line(2)+line(3) {
		t.Errorf("current holds %q", c)
	}
}

// A line longer than the size is written whole into a file of its own.
func TestLineLongerThanSize(t *testing.T) {
	dir := t.TempDir()
	d, _ := Open(dir, 100, 10)
	d.now = clock()
	long := strings.Repeat("y", 300) + "\n"
	p := line(1) + long + line(2)
	if n, err := d.Write([]byte(p)); err != nil || n != len(p) {
		t.Fatalf("Write: %d, %v", n, err)
	}
	d.Close()
	got, files := readAll(t, dir)
	if got != p || len(files) != 3 {
		t.Fatalf("%d files holding %q", len(files), got)
	}
}
