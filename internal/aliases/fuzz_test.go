package aliases

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

var fuzzSeeds = []string{
	"a: b, c\n",
	"list: a,\n  b,\n\tc\n# c\n\nd: \\list, list\n",
	"a: \"|/usr/bin/prog arg, x\", /var/mail/a, \"/my box\"\n",
	"a: b\nb: a, y\nc: c, \\C\n",
	"a: Joe <joe@x.test>, k (comment), \"q\\\"x\"\n",
	"a: :include:relative\nb: :include:/nonexistent/list, x\n",
	"x: a, \\\nb\r\nowner-x: root\n",
	"a: \"unterminated\n  b\n",
	"a: <|p>, (oops\n",
	"\\joe, |vacation, \"|proc x,y\", /file\n",
}

// checkTarget asserts the invariants every Target must keep.
func checkTarget(t *testing.T, tg Target) {
	t.Helper()
	if tg.Value == "" {
		t.Fatalf("empty target value: %+v", tg)
	}
	if strings.ContainsAny(tg.Value, "\x00\r\n") {
		t.Fatalf("NUL/CR/LF in target: %q", tg.Value)
	}
	if c, bad := badControl(tg.Value, tg.Kind == Program); bad {
		t.Fatalf("control character %#02x in target %q", c, tg.Value)
	}
	switch tg.Kind {
	case Address:
		if strings.ContainsAny(tg.Value, addressSpecials) {
			t.Fatalf("special character in address %q", tg.Value)
		}
	case Program:
		if tg.Value[0] == ' ' || tg.Value[0] == '\t' {
			t.Fatalf("program with leading blank %q", tg.Value)
		}
	case File:
		if tg.Value[0] != '/' {
			t.Fatalf("file target not absolute: %q", tg.Value)
		}
	default:
		t.Fatalf("unknown kind %v", tg.Kind)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, errs := Parse(bytes.NewReader(data))
		if tab == nil {
			t.Fatal("nil table")
		}
		for _, err := range errs {
			var le *LineError
			if !errors.As(err, &le) || le.Line < 1 {
				t.Fatalf("error without a line: %v", err)
			}
		}
		if len(errs) == 0 && tab.Len() == 0 && strings.Contains(string(data), ":") && !onlyComments(data) {
			// Something with a colon outside comments either defines an
			// alias or is reported.
			t.Fatalf("input %q neither defined an alias nor reported an error", data)
		}
		for _, name := range tab.Names() {
			got, ok := tab.Lookup(name)
			if !ok {
				t.Fatalf("listed name %q not found", name)
			}
			if len(got) > maxTargets {
				t.Fatalf("%d targets for %q", len(got), name)
			}
			seen := map[Target]bool{}
			for _, tg := range got {
				checkTarget(t, tg)
				key := tg
				if key.Kind == Address {
					key.Value = strings.ToLower(key.Value)
				}
				if seen[key] {
					t.Fatalf("duplicate target %v for %q", tg, name)
				}
				seen[key] = true
			}
			if up := strings.ToUpper(name); isASCII(name) {
				if again, ok := tab.Lookup(up); !ok || !reflect.DeepEqual(again, got) {
					t.Fatalf("Lookup(%q) differs from Lookup(%q)", up, name)
				}
			}
		}
	})
}

func onlyComments(data []byte) bool {
	for _, line := range strings.Split(string(data), "\n") {
		if l := strings.TrimLeft(line, " \t\r"); l != "" && l[0] != '#' {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// formatForward writes targets so that ParseForward reads them back.
func formatForward(ts []Target) string {
	var b strings.Builder
	quote := func(s string) string {
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
	}
	for _, tg := range ts {
		switch tg.Kind {
		case Program:
			b.WriteString(quote("|" + tg.Value))
		default:
			b.WriteString(quote(tg.Value))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func FuzzParseForward(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ParseForward(data)
		if err != nil {
			if got != nil {
				t.Fatal("targets returned with an error")
			}
			var le *LineError
			if !errors.As(err, &le) || le.Line < 1 {
				t.Fatalf("error without a line: %v", err)
			}
			return
		}
		if len(got) > maxTargets {
			t.Fatalf("%d targets", len(got))
		}
		if bytes.IndexByte(data, 0) >= 0 {
			t.Fatal("input with NUL accepted")
		}
		for _, tg := range got {
			checkTarget(t, tg)
		}
		// Round trip: what we print, we read back identically.
		again, err := ParseForward([]byte(formatForward(got)))
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("round trip of %v: %v, %v", got, again, err)
		}
	})
}
