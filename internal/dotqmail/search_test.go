package dotqmail

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
)

func file(data string, mode fs.FileMode) *fstest.MapFile {
	return &fstest.MapFile{Data: []byte(data), Mode: mode}
}

func TestSearchOrder(t *testing.T) {
	all := fstest.MapFS{
		".qmail":              file("bare\n", 0o600),
		".qmail-a-b-c":        file("exact\n", 0o600),
		".qmail-a-b-default":  file("ab\n", 0o600),
		".qmail-a-default":    file("a\n", 0o600),
		".qmail-default":      file("any\n", 0o600),
		".qmail-x:y":          file("dots\n", 0o600),
		".qmail-list-default": file("list\n", 0o600),
	}
	tests := []struct {
		dash, ext  string
		name       string
		def        string
		hasDefault bool
	}{
		{"", "", ".qmail", "", false},
		{"-", "a-b-c", ".qmail-a-b-c", "", false},
		{"-", "A-B-C", ".qmail-a-b-c", "", false},
		{"-", "a-b-d", ".qmail-a-b-default", "d", true},
		{"-", "a-b-D-e", ".qmail-a-b-default", "D-e", true},
		{"-", "a-x", ".qmail-a-default", "x", true},
		{"-", "a-", ".qmail-a-default", "", true},
		{"-", "a", ".qmail-default", "a", true},
		{"-", "", ".qmail-default", "", true},
		{"-", "zz-top", ".qmail-default", "zz-top", true},
		{"-", "X.Y", ".qmail-x:y", "", false},
		{"-", "x/y", ".qmail-x:y", "", false},
		// Only ASCII is lowered, byte for byte, so DEFAULT lines up with
		// the extension whatever else it holds.
		{"-", "a-\u0130\xff", ".qmail-a-default", "\u0130\xff", true},
		{"-", "\xff\xff\xff\xff-B", ".qmail-default", "\xff\xff\xff\xff-B", true},
		// An exact match whose name ends in "default" sets DEFAULT too.
		{"-", "list-DEFAULT", ".qmail-list-default", "DEFAULT", true},
	}
	for _, tt := range tests {
		f, err := Search(all, tt.dash, tt.ext)
		if err != nil {
			t.Fatalf("Search(%q, %q): %v", tt.dash, tt.ext, err)
		}
		if f.Name != tt.name || f.Default != tt.def || f.HasDefault != tt.hasDefault {
			t.Errorf("Search(%q, %q) = %q DEFAULT=%q(%v), want %q DEFAULT=%q(%v)",
				tt.dash, tt.ext, f.Name, f.Default, f.HasDefault, tt.name, tt.def, tt.hasDefault)
		}
		if want := all[tt.name]; string(f.Data) != string(want.Data) {
			t.Errorf("Search(%q, %q) data %q", tt.dash, tt.ext, f.Data)
		}
	}
}

func TestSearchNotFound(t *testing.T) {
	fsys := fstest.MapFS{
		".qmaildefault":  file("x\n", 0o600), // qmail would use it; goqmail does not
		".qmail-foo":     {Mode: fs.ModeDir | 0o700},
		".qmail-default": {Mode: fs.ModeDir | 0o700}, // not a regular file: skipped
	}
	for _, c := range []struct{ dash, ext string }{{"", ""}, {"-", "foo"}, {"-", "bar-baz"}} {
		f, err := Search(fsys, c.dash, c.ext)
		if err != nil || f.Name != "" || f.HasDefault {
			t.Errorf("Search(%q, %q) = %+v, %v; want nothing", c.dash, c.ext, f, err)
		}
	}
}

func TestSearchModes(t *testing.T) {
	tests := []struct {
		mode        fs.FileMode
		err         error
		forwardOnly bool
	}{
		{0o600, nil, false},
		{0o644, nil, false},
		{0o700, nil, true},
		{0o620, ErrWritable, false},
		{0o602, ErrWritable, false},
	}
	for _, tt := range tests {
		f, err := Search(fstest.MapFS{".qmail": file("x\n", tt.mode)}, "", "")
		if !errors.Is(err, tt.err) || (err == nil && f.ForwardOnly != tt.forwardOnly) {
			t.Errorf("mode %v: %+v, %v", tt.mode, f, err)
		}
	}
	if _, err := Search(fstest.MapFS{".qmail": file(strings.Repeat("x", MaxFileSize+1), 0o600)}, "", ""); err == nil {
		t.Error("oversized .qmail accepted")
	}
}

// errFS fails every Open with one error.
type errFS struct{ err error }

func (e errFS) Open(name string) (fs.File, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: e.err}
}

func TestSearchErrorsAreTemporaryButMissingIsNot(t *testing.T) {
	for _, errno := range []error{syscall.ENOENT, syscall.ENOTDIR, syscall.ENAMETOOLONG} {
		if f, err := Search(errFS{errno}, "-", "a-b"); err != nil || f.Name != "" {
			t.Errorf("%v: %+v, %v; want not found", errno, f, err)
		}
		if ok, err := Owner(errFS{errno}, "-", "a"); ok || err != nil {
			t.Errorf("Owner with %v: %v %v", errno, ok, err)
		}
	}
	for _, errno := range []error{syscall.EACCES, syscall.EIO, syscall.ELOOP, syscall.EMFILE} {
		_, err := Search(errFS{errno}, "-", "a-b")
		if !errors.Is(err, errno) || !strings.HasSuffix(err.Error(), ". (#4.3.0)") {
			t.Errorf("%v: error %v", errno, err)
		}
		if strings.Count(err.Error(), ".qmail-a-b") != 1 {
			t.Errorf("error names the file once: %v", err)
		}
		if _, err := Owner(errFS{errno}, "-", "a"); !errors.Is(err, errno) {
			t.Errorf("Owner with %v: %v", errno, err)
		}
	}
}

func TestOwner(t *testing.T) {
	fsys := fstest.MapFS{".qmail-list-owner": file("", 0o600)}
	for ext, want := range map[string]bool{"list": true, "LIST": true, "other": false} {
		if ok, err := Owner(fsys, "-", ext); ok != want || err != nil {
			t.Errorf("Owner(%q) = %v, %v", ext, ok, err)
		}
	}
}

// TestHostileExtStaysInHome builds a real home with tempting files just
// outside it and checks that no extension reaches them.
func TestHostileExtStaysInHome(t *testing.T) {
	root := t.TempDir()
	home := filepath.Join(root, "home")
	os.Mkdir(home, 0o700)
	for _, name := range []string{".qmail-x", "x", ".qmail-", "passwd", ".qmail-default"} {
		os.WriteFile(filepath.Join(root, name), []byte("|evil\n"), 0o600)
	}
	os.Mkdir(filepath.Join(home, ".qmail-sub"), 0o700)
	os.WriteFile(filepath.Join(home, ".qmail-sub", "x"), []byte("|evil\n"), 0o600)
	hostile := []string{"../x", "/../../x", "..", "../", "a/b", "sub/x", "/etc/passwd",
		"\x01\x7f", "..\x00", "x\n", strings.Repeat("../", 300) + "x", "-/../x", "...", "./x"}
	for _, dash := range []string{"", "-"} {
		for _, ext := range hostile {
			f, err := Search(Home(home), dash, ext)
			if err == nil && f.Name != "" {
				t.Errorf("Search(%q, %q) found %q outside an empty home", dash, ext, f.Name)
			}
			if strings.Contains(SafeExt(ext), "/") || strings.Contains(SafeExt(ext), ".") {
				t.Errorf("SafeExt(%q) = %q", ext, SafeExt(ext))
			}
		}
	}
}
