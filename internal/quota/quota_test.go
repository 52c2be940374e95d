package quota

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testMaildir builds a Maildir++ with messages named with and without
// ",S=", in the inbox and in folders, and returns its path and what a full
// count must find. Files named with ",S=" hold a different number of bytes
// than the name says, so the test proves the name is what counts.
func testMaildir(t *testing.T) (string, Usage) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "Maildir")
	for _, d := range []string{"", ".Sent", ".Trash", ".Lists.go"} {
		for _, sub := range []string{"new", "cur", "tmp"} {
			if err := os.MkdirAll(filepath.Join(root, d, sub), 0o700); err != nil {
				t.Fatal(err)
			}
		}
	}
	put := func(rel string, n int) {
		if err := os.WriteFile(filepath.Join(root, rel), make([]byte, n), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	put("new/1700000000.M1P1.host,S=1000", 3)     // 1000 by name
	put("new/1700000001.M1P1.host", 250)          // 250 by stat
	put("cur/1700000002.M1P1.host,S=2000:2,S", 5) // 2000 by name
	put("cur/1700000003.M1P1.host:2,", 400)       // 400 by stat
	put("cur/1700000004.M1P1.host,S=12x:2,", 70)  // malformed size: 70 by stat
	put(".Sent/cur/1700000005.M1P1.host,S=300:2,S", 1)
	put(".Trash/cur/1700000006.M1P1.host,S=50:2,ST", 1) // Trash counts, as in Dovecot
	put(".Lists.go/new/1700000007.M1P1.host", 25)
	put("tmp/1700000008.M1P1.host,S=99999", 1) // tmp/ never counts
	put("cur/.hidden", 777)                    // dot files are not messages
	put("dovecot-uidlist", 1)                  // root files are not messages
	put(".notafolder", 1)                      // a dot file in the root is no folder
	put(".Sent/maildirfolder", 0)              // marks .Sent as a folder
	want := Usage{Bytes: 1000 + 250 + 2000 + 400 + 70 + 300 + 50 + 25, Messages: 8}
	return root, want
}

func writeSizeFile(t *testing.T, root, content string, age time.Duration) {
	t.Helper()
	path := filepath.Join(root, fileName)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	when := time.Now().Add(-age)
	if err := os.Chtimes(path, when, when); err != nil {
		t.Fatal(err)
	}
}

func readSizeFile(t *testing.T, root string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, fileName))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestCheckRecalculates(t *testing.T) {
	lim := Limits{Bytes: 1 << 20, Messages: 1000}
	// Exactly 5120 bytes: "at least 5120 bytes" is rebuilt [Maildir++].
	big := "1048576S,1000C\n" + " " + strings.Repeat("1 1\n", 1276)
	if len(big) != maxFileSize {
		t.Fatalf("test file is %d bytes", len(big))
	}
	tests := []struct {
		name    string
		content string // "" = no file
		age     time.Duration
		lim     Limits
	}{
		{name: "missing", lim: lim},
		{name: "corrupt", content: "1048576S,1000C\nnot numbers\n", lim: lim},
		{name: "partial line", content: "1048576S,1000C\n10 1\n5", lim: lim},
		{name: "negative total", content: "1048576S,1000C\n-10 -1\n", lim: lim},
		{name: "saturated", content: "1048576S,1000C\n9223372036854775807 1\n9223372036854775807 1\n-9223372036854775807 0\n", lim: lim},
		{name: "5120 bytes", content: big, lim: lim},
		{name: "other limits", content: "2000000S\n7 1\n", lim: lim},
		{name: "limit removed", content: "2000000S\n7 1\n", lim: Limits{}},
		{name: "stale and over quota", content: "4000S\n5000 3\n", age: 16 * time.Minute, lim: Limits{Bytes: 4000}},
		{name: "over quota, several lines", content: "4000S\n4000 2\n1000 1\n", lim: Limits{Bytes: 4000}},
		{name: "over count, several lines", content: "5C\n100 3\n100 3\n", lim: Limits{Messages: 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, want := testMaildir(t)
			if tt.content != "" {
				writeSizeFile(t, root, tt.content, tt.age)
			}
			u, fits, err := Check(root, tt.lim, 100)
			if err != nil {
				t.Fatal(err)
			}
			if u != want {
				t.Errorf("usage %+v, want the full count %+v", u, want)
			}
			if fits != tt.lim.Fits(want, 100) {
				t.Errorf("fits = %v for %+v under %+v", fits, want, tt.lim)
			}
			wantFile := fmt.Sprintf("%s\n%d %d\n", tt.lim, want.Bytes, want.Messages)
			if got := readSizeFile(t, root); got != wantFile {
				t.Errorf("maildirsize = %q, want %q", got, wantFile)
			}
			if left, _ := filepath.Glob(filepath.Join(root, "tmp", "maildirsize*")); len(left) != 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}

func TestCheckTrustsFile(t *testing.T) {
	tests := []struct {
		name    string
		content string
		age     time.Duration
		lim     Limits
		size    int64
		want    Usage
		fits    bool
	}{
		{"fits", "1048576S,1000C\n500 2\n100 1\n-50 -1\n", time.Hour, Limits{1 << 20, 1000}, 100, Usage{550, 2}, true},
		{"fits exactly", "1000S\n900 2\n", time.Hour, Limits{Bytes: 1000}, 100, Usage{900, 2}, true},
		{"fresh single line over quota", "4000S\n5000 3\n", 14 * time.Minute, Limits{Bytes: 4000}, 1, Usage{5000, 3}, false},
		{"fresh single line, message too big", "4000S\n3000 3\n", time.Minute, Limits{Bytes: 4000}, 1001, Usage{3000, 3}, false},
		{"unlimited, courier empty line", "\n123 4\n", time.Hour, Limits{}, 1 << 40, Usage{123, 4}, true},
		{"just under 5120 bytes", "0S\n" + strings.Repeat("1 1\n", (maxFileSize-3)/4), time.Hour, Limits{}, 1,
			Usage{(maxFileSize - 3) / 4, (maxFileSize - 3) / 4}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, _ := testMaildir(t)
			writeSizeFile(t, root, tt.content, tt.age)
			u, fits, err := Check(root, tt.lim, tt.size)
			if err != nil || u != tt.want || fits != tt.fits {
				t.Fatalf("Check = %+v, %v, %v; want %+v, %v from the file", u, fits, err, tt.want, tt.fits)
			}
			if got := readSizeFile(t, root); got != tt.content {
				t.Errorf("maildirsize rewritten to %q", got)
			}
		})
	}
}

func TestCheckFolderAndMissingMaildir(t *testing.T) {
	root, want := testMaildir(t)
	lim := Limits{Bytes: 1 << 20}
	u, _, err := Check(filepath.Join(root, ".Sent"), lim, 1)
	if err != nil || u != want {
		t.Fatalf("Check(folder) = %+v, %v; want the parent's %+v", u, err, want)
	}
	if _, err := os.Stat(filepath.Join(root, ".Sent", fileName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a folder got its own maildirsize: %v", err)
	}
	readSizeFile(t, root)

	gone := filepath.Join(t.TempDir(), "nobody", "Maildir")
	u, fits, err := Check(gone, lim, 1000)
	if err != nil || u != (Usage{}) || !fits {
		t.Fatalf("Check(missing Maildir) = %+v, %v, %v; want empty and fits", u, fits, err)
	}
	if _, err := os.Stat(gone); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Check created %s: %v", gone, err)
	}
}

func TestCheckRejectsBadArguments(t *testing.T) {
	root, _ := testMaildir(t)
	if _, _, err := Check(root, Limits{Bytes: -1}, 1); !errors.Is(err, ErrInvalid) {
		t.Errorf("negative limit: %v", err)
	}
	if _, _, err := Check(root, Limits{}, -1); !errors.Is(err, ErrInvalid) {
		t.Errorf("negative size: %v", err)
	}
	if err := Add(root, Limits{}, -1); !errors.Is(err, ErrInvalid) {
		t.Errorf("Add negative size: %v", err)
	}
}

func TestAdd(t *testing.T) {
	root, want := testMaildir(t)
	lim := Limits{Bytes: 1 << 20, Messages: 1000}
	// No file yet: Add counts the Maildir, which holds the new message.
	if err := Add(root, lim, 1000); err != nil {
		t.Fatal(err)
	}
	start := fmt.Sprintf("%s\n%d %d\n", lim, want.Bytes, want.Messages)
	if got := readSizeFile(t, root); got != start {
		t.Fatalf("after Add without a file: %q, want %q", got, start)
	}
	if err := Add(root, lim, 4321); err != nil {
		t.Fatal(err)
	}
	if got := readSizeFile(t, root); got != start+"4321 1\n" {
		t.Fatalf("after Add: %q", got)
	}
	u, fits, err := Check(root, lim, 1)
	if err != nil || !fits || u != (Usage{want.Bytes + 4321, want.Messages + 1}) {
		t.Fatalf("Check after Add = %+v, %v, %v", u, fits, err)
	}
}

func TestAddConcurrent(t *testing.T) {
	root, _ := testMaildir(t)
	lim := Limits{Messages: 1 << 20}
	writeSizeFile(t, root, "1048576C\n0 0\n", 0)
	const writers, each = 8, 60 // 480 lines of "NNN 1\n", well past 5120 bytes
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				errs <- Add(root, lim, int64(100+w*each+i))
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
	fc, err := parseFile([]byte(readSizeFile(t, root)))
	if err != nil {
		t.Fatal(err)
	}
	var wantBytes int64
	for i := range writers * each {
		wantBytes += int64(100 + i)
	}
	if fc.Lines != 1+writers*each || fc.Usage != (Usage{wantBytes, writers * each}) {
		t.Fatalf("after %d concurrent Adds: %d lines, %+v; want %d lines, %d bytes",
			writers*each, fc.Lines, fc.Usage, 1+writers*each, wantBytes)
	}
}

func TestChangedSince(t *testing.T) {
	root, _ := testMaildir(t)
	_, stamps, err := count(root)
	if err != nil {
		t.Fatal(err)
	}
	if moved, err := changedSince(stamps); err != nil || moved {
		t.Fatalf("changedSince right after count = %v, %v", moved, err)
	}
	// A delivery into new/ after the count moves its mtime.
	newDir := filepath.Join(root, "new")
	later := time.Now().Add(time.Second)
	if err := os.Chtimes(newDir, later, later); err != nil {
		t.Fatal(err)
	}
	if moved, err := changedSince(stamps); err != nil || !moved {
		t.Fatalf("changedSince after new/ changed = %v, %v; want true", moved, err)
	}
	// A folder's cur/ that disappears is a change too.
	_, stamps, _ = count(root)
	if err := os.RemoveAll(filepath.Join(root, ".Lists.go", "cur")); err != nil {
		t.Fatal(err)
	}
	if moved, err := changedSince(stamps); err != nil || !moved {
		t.Fatalf("changedSince after a folder vanished = %v, %v; want true", moved, err)
	}
}
