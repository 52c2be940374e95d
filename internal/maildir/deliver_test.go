package maildir

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// newMaildir makes a fresh maildir under t.TempDir.
func newMaildir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "Maildir")
	if err := Make(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

// names lists the entries of maildir/sub.
func names(t testing.TB, maildir, sub string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(maildir, sub))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// fileAt returns an *os.File holding skip+content, positioned after skip,
// as the local delivery process would pass the queued message.
func fileAt(t *testing.T, skip, content string) *os.File {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "msg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if _, err := f.WriteString(skip + content); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(int64(len(skip)), io.SeekStart); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestDeliverWritesOneFile(t *testing.T) {
	big := strings.Repeat("0123456789abcdef\n", 10000) // beyond io.Copy's 32 KB buffer
	tests := []struct {
		name   string
		prefix string
		body   func(t *testing.T) io.Reader
		want   string
	}{
		{"prefix and body", "Return-Path: <a@b>\nDelivered-To: u@x\n",
			func(*testing.T) io.Reader { return strings.NewReader("Subject: hi\n\nbody\n") },
			"Return-Path: <a@b>\nDelivered-To: u@x\nSubject: hi\n\nbody\n"},
		{"no prefix", "", func(*testing.T) io.Reader { return strings.NewReader("x\n") }, "x\n"},
		{"empty body", "P\n", func(*testing.T) io.Reader { return strings.NewReader("") }, "P\n"},
		{"large body via plain reader", "P\n",
			func(*testing.T) io.Reader { return io.MultiReader(strings.NewReader(big)) }, "P\n" + big},
		{"file positioned after envelope", "DT\n",
			func(t *testing.T) io.Reader { return fileAt(t, "envelope\x00", big) }, "DT\n" + big},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := newMaildir(t)
			var d Deliverer
			got, err := d.Deliver(md, []byte(tt.prefix), tt.body(t))
			if err != nil {
				t.Fatal(err)
			}
			if n := names(t, md, "new"); len(n) != 1 || n[0] != got {
				t.Fatalf("new/ = %q, want [%q]", n, got)
			}
			if n := names(t, md, "tmp"); len(n) != 0 {
				t.Fatalf("tmp/ not empty: %q", n)
			}
			path := filepath.Join(md, "new", got)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(data) != tt.want {
				t.Fatalf("content: got %d bytes, want %d", len(data), len(tt.want))
			}
			if !strings.HasSuffix(got, fmt.Sprintf(",S=%d", len(tt.want))) {
				t.Errorf("name %q lacks ,S=%d", got, len(tt.want))
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("mode %v, want 0600", fi.Mode().Perm())
			}
		})
	}
}

func TestDeliverConcurrentUnique(t *testing.T) {
	md := newMaildir(t)
	var d1, d2 Deliverer // two deliverers in one process: same pid, separate counters
	d1.Host, d2.Host = "mx", "mx"
	const n = 200
	want := make(map[string]bool)
	for i := range n {
		want[fmt.Sprintf("message %d\n", i)] = true
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		d := &d1
		if i%2 == 1 {
			d = &d2
		}
		wg.Go(func() {
			if _, err := d.Deliver(md, nil, strings.NewReader(fmt.Sprintf("message %d\n", i))); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	files := names(t, md, "new")
	if len(files) != n {
		t.Fatalf("%d files in new/, want %d", len(files), n)
	}
	for _, name := range files {
		data, err := os.ReadFile(filepath.Join(md, "new", name))
		if err != nil {
			t.Fatal(err)
		}
		if !want[string(data)] {
			t.Fatalf("%s: unexpected or duplicate content %q", name, data)
		}
		delete(want, string(data))
	}
	if left := names(t, md, "tmp"); len(left) != 0 {
		t.Fatalf("tmp/ not empty: %q", left)
	}
}

type failingReader struct{ err error }

func (r failingReader) Read([]byte) (int, error) { return 0, r.err }

func TestDeliverFailuresLeaveNothing(t *testing.T) {
	errRead := errors.New("connection lost")
	tests := []struct {
		name  string
		setup func(t *testing.T, md string) // breaks the maildir
		body  io.Reader
		want  error
		// files expected in new/ afterwards (the ones setup planted)
		newLeft int
	}{
		{"missing new", func(t *testing.T, md string) { rmdir(t, md, "new") },
			strings.NewReader("x"), fs.ErrNotExist, -1},
		{"missing tmp", func(t *testing.T, md string) { rmdir(t, md, "tmp") },
			strings.NewReader("x"), fs.ErrNotExist, 0},
		{"body read error", func(*testing.T, string) {},
			io.MultiReader(strings.NewReader("partial"), failingReader{errRead}), errRead, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := newMaildir(t)
			tt.setup(t, md)
			var d Deliverer
			name, err := d.Deliver(md, []byte("P\n"), tt.body)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if name != "" {
				t.Errorf("name %q returned with error", name)
			}
			if _, serr := os.Stat(filepath.Join(md, "tmp")); serr == nil {
				if left := names(t, md, "tmp"); len(left) != 0 {
					t.Errorf("tmp/ not empty: %q", left)
				}
			}
			if tt.newLeft >= 0 {
				if left := names(t, md, "new"); len(left) != tt.newLeft {
					t.Errorf("new/ = %q", left)
				}
			}
		})
	}
}

func rmdir(t *testing.T, md, sub string) {
	t.Helper()
	if err := os.Remove(filepath.Join(md, sub)); err != nil {
		t.Fatal(err)
	}
}

// zeroReader makes the random part of unique names predictable.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// predictable returns a Deliverer whose k-th name is predictName(k).
func predictable() *Deliverer {
	return &Deliverer{Host: "h", clock: fixedClock, random: zeroReader{}}
}

func predictName(q int) string {
	return fmt.Sprintf("%d.M%dP%dQ%dR0000000000000000.h",
		fixedClock().Unix(), fixedClock().Nanosecond()/1000, os.Getpid(), q)
}

func TestDeliverRetriesTakenTmpName(t *testing.T) {
	md := newMaildir(t)
	plant(t, filepath.Join(md, "tmp", predictName(1)), "someone else's")
	d := predictable()
	got, err := d.Deliver(md, nil, strings.NewReader("mine"))
	if err != nil {
		t.Fatal(err)
	}
	if want := predictName(2) + ",S=4"; got != want {
		t.Fatalf("name %q, want %q", got, want)
	}
	data, _ := os.ReadFile(filepath.Join(md, "tmp", predictName(1)))
	if string(data) != "someone else's" {
		t.Fatalf("planted tmp file changed: %q", data)
	}
}

func TestDeliverGivesUpOnRepeatedCollisions(t *testing.T) {
	md := newMaildir(t)
	for q := 1; q <= maxCreateTries; q++ {
		plant(t, filepath.Join(md, "tmp", predictName(q)), "x")
	}
	_, err := predictable().Deliver(md, nil, strings.NewReader("mine"))
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("err = %v, want ErrExist", err)
	}
	if left := names(t, md, "tmp"); len(left) != maxCreateTries {
		t.Fatalf("tmp/ = %q", left)
	}
}

func TestDeliverNeverOverwritesNew(t *testing.T) {
	md := newMaildir(t)
	taken := filepath.Join(md, "new", predictName(1)+",S=4")
	plant(t, taken, "old message")
	_, err := predictable().Deliver(md, nil, strings.NewReader("mine"))
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("err = %v, want ErrExist", err)
	}
	if data, _ := os.ReadFile(taken); string(data) != "old message" {
		t.Fatalf("existing new/ file overwritten: %q", data)
	}
	if left := names(t, md, "tmp"); len(left) != 0 {
		t.Fatalf("tmp/ not empty: %q", left)
	}
}

func plant(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkDeliverParallel(b *testing.B) {
	md := newMaildir(b)
	msg := bytes.Repeat([]byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n"), 64) // 4 KB
	prefix := []byte("Return-Path: <a@example.org>\nDelivered-To: u@example.org\n")
	var d Deliverer
	b.SetBytes(int64(len(prefix) + len(msg)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := d.Deliver(md, prefix, bytes.NewReader(msg)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// TestDeliverSweepsOldTmp: files that killed deliveries left in tmp/ more
// than 36 hours ago are removed by the next delivery (at most once an hour
// per maildir); younger ones, possibly a delivery in progress, stay.
func TestDeliverSweepsOldTmp(t *testing.T) {
	md := filepath.Join(t.TempDir(), "Maildir")
	if err := Make(md, 0o700); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	plant := func(name string, age time.Duration) string {
		p := filepath.Join(md, "tmp", name)
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
		return p
	}
	old := plant("killed.1", 37*time.Hour)
	young := plant("running.1", time.Hour)
	clock := now
	d := &Deliverer{Host: "h", clock: func() time.Time { return clock }}
	if _, err := d.Deliver(md, nil, strings.NewReader("Subject: x\n\nhi\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a tmp/ file 37 hours old survived a delivery: %v", err)
	}
	if _, err := os.Stat(young); err != nil {
		t.Errorf("a tmp/ file an hour old was removed: %v", err)
	}
	// Within the hour the sweep is not repeated; after it, it is.
	old2 := plant("killed.2", 40*time.Hour)
	clock = now.Add(30 * time.Minute)
	d.Deliver(md, nil, strings.NewReader("Subject: y\n\nhi\n"))
	if _, err := os.Stat(old2); err != nil {
		t.Errorf("swept again within the hour: %v", err)
	}
	clock = now.Add(61 * time.Minute)
	d.Deliver(md, nil, strings.NewReader("Subject: z\n\nhi\n"))
	if _, err := os.Stat(old2); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("not swept after an hour: %v", err)
	}
}
