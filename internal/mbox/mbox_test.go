package mbox

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

var when = time.Date(2024, time.March, 5, 9, 7, 3, 0, time.UTC)

// readMboxrd is a reader's view of an mbox, as mutt or mblaze parse it: a
// message starts at a "From " line at the start of the file or after a
// blank line; the blank line before the next one belongs to the format, not
// the message; one '>' is removed from lines matching >+From.
func readMboxrd(t *testing.T, data []byte) (froms []string, msgs []string) {
	t.Helper()
	if len(data) == 0 {
		return nil, nil
	}
	lines := strings.SplitAfter(string(data), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	var cur *strings.Builder
	prevBlank := true
	for _, l := range lines {
		if prevBlank && strings.HasPrefix(l, "From ") {
			if cur != nil {
				msgs = append(msgs, strings.TrimSuffix(cur.String(), "\n"))
			}
			froms = append(froms, l)
			cur = &strings.Builder{}
			prevBlank = false
			continue
		}
		if cur == nil {
			t.Fatalf("mbox does not start with a From line: %q", l)
		}
		if u := strings.TrimLeft(l, ">"); len(u) < len(l) && strings.HasPrefix(u, "From ") {
			l = l[1:]
		}
		cur.WriteString(l)
		prevBlank = l == "\n"
	}
	if !prevBlank {
		t.Fatalf("mbox does not end with a blank line: %q", data)
	}
	msgs = append(msgs, strings.TrimSuffix(cur.String(), "\n"))
	return froms, msgs
}

func TestFromLine(t *testing.T) {
	tests := []struct{ sender, want string }{
		{"a@example.org", "From a@example.org Tue Mar 05 09:07:03 2024\n"},
		{"", "From MAILER-DAEMON Tue Mar 05 09:07:03 2024\n"},
		{"a b\tc\nd@x", "From a-b-c-d@x Tue Mar 05 09:07:03 2024\n"},
		{"\xff@x", "From \xff@x Tue Mar 05 09:07:03 2024\n"},
	}
	for _, tt := range tests {
		if got := FromLine(tt.sender, when.In(time.FixedZone("x", 3600*5))); got != tt.want {
			t.Errorf("FromLine(%q) = %q, want %q", tt.sender, got, tt.want)
		}
	}
}

func TestAppendFormat(t *testing.T) {
	prefix := "Return-Path: <a@example.org>\nDelivered-To: u@example.test\n"
	tests := []struct{ name, body, want string }{
		{"plain", "Subject: x\n\nhello\n", "Subject: x\n\nhello\n\n"},
		{"partial last line", "Subject: x\n\nhello", "Subject: x\n\nhello\n\n"},
		{"empty", "", "\n"},
		{"from quoting", "S: x\n\nFrom me\n>From you\n>>From them\nFrom\nFromage\n >From x\nFro", "S: x\n\n>From me\n>>From you\n>>>From them\nFrom\nFromage\n >From x\nFro\n\n"},
		{"from at end", "x\nFrom ", "x\n>From \n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "mbox")
			if err := Append(path, "a@example.org", when, []byte(prefix), strings.NewReader(tt.body)); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(path)
			want := "From a@example.org Tue Mar 05 09:07:03 2024\n" + prefix + tt.want
			if string(got) != want {
				t.Fatalf("mbox\n%q\nwant\n%q", got, want)
			}
			if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
				t.Errorf("new mbox has mode %v, want 0600", st.Mode().Perm())
			}
			if _, err := os.Stat(path + ".lock"); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("dotlock left behind: %v", err)
			}
		})
	}
}

// TestReaderSeesMessages appends hostile messages one after another and
// checks that a reader splits the file into exactly those messages.
func TestReaderSeesMessages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mbox")
	bodies := []string{
		"Subject: one\n\nFrom the start\n\nFrom after blank\n",
		"Subject: two\n\n>From quoted\n>>>From deep\n",
		"Subject: three\n\nno newline at end",
		"",
		"Subject: five\n\n\n\nFrom \n",
	}
	for i, b := range bodies {
		prefix := fmt.Sprintf("Delivered-To: n%d@x\n", i)
		if err := Append(path, "s@x", when, []byte(prefix), strings.NewReader(b)); err != nil {
			t.Fatal(err)
		}
	}
	data, _ := os.ReadFile(path)
	froms, msgs := readMboxrd(t, data)
	if len(msgs) != len(bodies) {
		t.Fatalf("reader sees %d messages, want %d:\n%s", len(msgs), len(bodies), data)
	}
	for i, b := range bodies {
		want := fmt.Sprintf("Delivered-To: n%d@x\n", i) + b
		if !strings.HasSuffix(want, "\n") {
			want += "\n"
		}
		if msgs[i] != want {
			t.Errorf("message %d = %q, want %q", i, msgs[i], want)
		}
		if froms[i] != "From s@x Tue Mar 05 09:07:03 2024\n" {
			t.Errorf("From line %d = %q", i, froms[i])
		}
	}
}

func TestConcurrentAppendersDoNotInterleave(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mbox")
	const writers, each = 4, 10
	// Large bodies so that unlocked writes would interleave.
	line := strings.Repeat("x", 999) + "\n"
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				body := fmt.Sprintf("Subject: %d-%d\n\n%s", w, i, strings.Repeat(line, 200))
				errs <- Append(path, "s@x", when, nil, strings.NewReader(body))
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	data, _ := os.ReadFile(path)
	_, msgs := readMboxrd(t, data)
	if len(msgs) != writers*each {
		t.Fatalf("%d messages, want %d", len(msgs), writers*each)
	}
	seen := map[string]bool{}
	for _, m := range msgs {
		subj, rest, _ := strings.Cut(m, "\n\n")
		if rest != strings.Repeat(line, 200) || seen[subj] {
			t.Fatalf("message %q damaged or repeated", subj)
		}
		seen[subj] = true
	}
}

// failingReader returns some data and then an error, as a pipe from a
// crashed spawner would.
type failingReader struct{ r io.Reader }

func (f failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, errors.New("boom")
	}
	return n, err
}

func TestReadErrorTruncatesBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mbox")
	if err := Append(path, "s@x", when, nil, strings.NewReader("first\n")); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	err := Append(path, "s@x", when, []byte("Delivered-To: x\n"), failingReader{strings.NewReader(strings.Repeat("y\n", 100000))})
	var e *Error
	if !errors.As(err, &e) || e.Op != "read" {
		t.Fatalf("error %v, want a read Error", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatalf("failed append left %d bytes behind", len(after)-len(before))
	}
}

func TestWriteErrorTruncatesBack(t *testing.T) {
	// A file size limit makes the kernel refuse the write (EFBIG) in the
	// middle of the message; the signal it would send is ignored by Go.
	path := filepath.Join(t.TempDir(), "mbox")
	if err := Append(path, "s@x", when, nil, strings.NewReader("first\n")); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_FSIZE, &old); err != nil {
		t.Skip(err)
	}
	lim := old
	lim.Cur = uint64(len(before)) + 100<<10
	if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &lim); err != nil {
		t.Skip(err)
	}
	err := Append(path, "s@x", when, nil, strings.NewReader(strings.Repeat("z", 1<<20)))
	unix.Setrlimit(unix.RLIMIT_FSIZE, &old)
	var e *Error
	if !errors.As(err, &e) || e.Op != "write" {
		t.Fatalf("error %v, want a write Error", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatalf("failed append left %d bytes behind", len(after)-len(before))
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	err := Append(filepath.Join(dir, "no", "such"), "s@x", when, nil, strings.NewReader("x"))
	var e *Error
	if !errors.As(err, &e) || e.Op != "open" || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("error %v", err)
	}
	if err := Append(dir, "s@x", when, nil, strings.NewReader("x")); !errors.As(err, &e) || e.Op != "open" {
		t.Fatalf("appending to a directory: %v", err)
	}
}
