package dotqmail

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

// FuzzParse checks what a .qmail parse promises whatever the file holds:
// no panic; values that are single lines without NUL or trailing blanks;
// kinds consistent with the line's first character; nothing but forwards
// when forward-only; and a round trip through Instruction.String.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"", "\n", "# c\n./Maildir/\n/var/mail/u\n|preline x\n&a@b\nbob\n",
		"+list\n&a\n", "|\n", "&\n", "x\x00y\n", " \t\n", "./m \t\n\n\nz",
	} {
		f.Add([]byte(seed), false)
		f.Add([]byte(seed), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, xbit bool) {
		got, err := Parse(data, xbit)
		if err != nil {
			if got != nil {
				t.Fatalf("instructions returned with error %v", err)
			}
			return
		}
		first, _, _ := bytes.Cut(data, []byte("\n"))
		if len(data) > 0 && len(bytes.TrimRight(first, " \t")) == 0 {
			t.Fatalf("blank first line accepted: %q", data)
		}
		for _, in := range got {
			v := in.Value
			if strings.ContainsAny(v, "\n\x00") || strings.HasSuffix(v, " ") || strings.HasSuffix(v, "\t") {
				t.Fatalf("bad value %q", v)
			}
			switch in.Kind {
			case Forward:
				if v == "" || strings.Contains(v, "\r") {
					t.Fatalf("bad forward %q", v)
				}
			case Program:
				if xbit {
					t.Fatalf("program %q in a forward-only file", v)
				}
			case Mbox, Maildir:
				if xbit {
					t.Fatalf("file %q in a forward-only file", v)
				}
				if v[0] != '.' && v[0] != '/' || strings.HasSuffix(v, "/") != (in.Kind == Maildir) {
					t.Fatalf("%v %q", in.Kind, v)
				}
			default:
				t.Fatalf("kind %v", in.Kind)
			}
		}
		var lines []string
		for _, in := range got {
			lines = append(lines, in.String())
		}
		again, err := Parse([]byte(strings.Join(lines, "\n")), false)
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("round trip: %+v -> %q -> %+v, %v", got, lines, again, err)
		}
	})
}

// FuzzSearch checks, for any extension, that Search only ever names a
// .qmail file directly in home and that DEFAULT is the end of the
// extension the -default name stood for.
func FuzzSearch(f *testing.F) {
	for _, seed := range []string{"a-b-c", "İx-y", "\xff-Z", "list-default", "../x", "a/b-c", ""} {
		f.Add(seed)
	}
	fsys := fstest.MapFS{
		".qmail-default":     file("x\n", 0o600),
		".qmail-a-default":   file("x\n", 0o600),
		".qmail-a-b-default": file("x\n", 0o600),
		".qmail-exact":       file("x\n", 0o600),
	}
	f.Fuzz(func(t *testing.T, ext string) {
		safe := SafeExt(ext)
		if len(safe) != len(ext) || strings.ContainsAny(safe, "./") {
			t.Fatalf("SafeExt(%q) = %q", ext, safe)
		}
		found, err := Search(fsys, "-", ext)
		if err != nil {
			t.Fatal(err)
		}
		if found.Name == "" || strings.Contains(found.Name, "/") || !strings.HasPrefix(found.Name, ".qmail-") {
			t.Fatalf("Search(%q) found %q", ext, found.Name)
		}
		if found.HasDefault {
			if !strings.HasSuffix(ext, found.Default) {
				t.Fatalf("DEFAULT %q is not the end of %q", found.Default, ext)
			}
			prefix := strings.TrimSuffix(found.Name, "default")
			if ".qmail-"+safe[:len(ext)-len(found.Default)] != prefix && found.Name != ".qmail-"+safe {
				t.Fatalf("%q matched %q with DEFAULT %q", ext, found.Name, found.Default)
			}
		}
	})
}
