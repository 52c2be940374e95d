package aliases

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestInclude(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	writeFile(t, p("list1"), "x, y\n# comment\n\n  z\n:include:"+p("list2")+"\n\"|prog a\", /f\n")
	writeFile(t, p("list2"), "w\r\n\\x\n")
	writeFile(t, p("self"), "k\n:include:"+p("self")+"\n")
	writeFile(t, p("bad"), "good, \"oops\nalso\n")
	writeFile(t, p("ww"), "evil\n")
	if err := os.Chmod(p("ww"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(p("fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 7; i++ {
		writeFile(t, p(fmt.Sprintf("d%d", i)), fmt.Sprintf("t%d, :include:%s\n", i, p(fmt.Sprintf("d%d", i+1))))
	}
	writeFile(t, p("d8"), "t8\n")

	tests := []struct {
		name    string
		src     string
		lookup  string
		want    []Target // nil: alias absent
		wantErr error    // nil: no error
	}{
		{"include with blank after colon and nesting", "l: :include: " + p("list1") + ", v\nz: zz\n", "l",
			[]Target{addr("x"), addr("y"), addr("zz"), addr("w"), prog("prog a"), file("/f"), addr("v")}, nil},
		{"include prefix case-insensitive", "l: :INCLUDE:" + p("list2") + "\n", "l", []Target{addr("w"), addr("x")}, nil},
		{"quoted include", "l: \":include:" + p("list2") + "\"\n", "l", []Target{addr("w"), addr("x")}, nil},
		{"backslash in include not expanded", "l: :include:" + p("list2") + "\nx: other\n", "l", []Target{addr("w"), addr("x")}, nil},
		{"missing include skipped", "m: :include:" + p("missing") + ", q\n", "m", []Target{addr("q")}, ErrInclude},
		{"only missing include drops alias", "n: :include:" + p("missing") + "\n", "n", nil, ErrEmpty},
		{"include loop", "s: :include:" + p("self") + "\n", "s", []Target{addr("k")}, ErrInclude},
		{"depth limit", "d: :include:" + p("d1") + "\n", "d",
			[]Target{addr("t1"), addr("t2"), addr("t3"), addr("t4"), addr("t5")}, ErrInclude},
		{"bad line in include keeps others", "b: :include:" + p("bad") + "\n", "b", []Target{addr("good"), addr("also")}, ErrSyntax},
		{"world-writable include refused", "e: :include:" + p("ww") + ", ok\n", "e", []Target{addr("ok")}, ErrInclude},
		{"fifo include refused without hanging", "f: :include:" + p("fifo") + ", ok\n", "f", []Target{addr("ok")}, ErrInclude},
		{"directory include refused", "g: :include:" + dir + ", ok\n", "g", []Target{addr("ok")}, ErrInclude},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tab, errs := Parse(strings.NewReader(tc.src))
			switch {
			case tc.wantErr == nil && len(errs) > 0:
				t.Errorf("unexpected errors %v", errs)
			case tc.wantErr != nil && !errors.Is(errors.Join(errs...), tc.wantErr):
				t.Errorf("errors = %v, want one that is %v", errs, tc.wantErr)
			}
			got, ok := tab.Lookup(tc.lookup)
			if tc.want == nil {
				if ok {
					t.Errorf("alias %q should be absent, got %v", tc.lookup, got)
				}
				return
			}
			if !ok || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Lookup(%q) = %v, %v; want %v", tc.lookup, got, ok, tc.want)
			}
		})
	}
}

func TestIncludeErrorNamesFile(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "list")
	writeFile(t, list, "a\n\n<broken\n")
	_, errs := Parse(strings.NewReader("l: :include:" + list + "\n"))
	var le *LineError
	if len(errs) != 1 || !errors.As(errs[0], &le) || le.File != list || le.Line != 3 {
		t.Fatalf("errors = %v, want one at %s line 3", errs, list)
	}
}
