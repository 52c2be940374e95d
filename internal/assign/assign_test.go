package assign

import (
	"errors"
	"strings"
	"testing"
	"testing/iotest"
)

// goodAssign is the example of qmail-users(5) plus lines exercising
// precedence, case and duplicates.
const goodAssign = `+:alias:7790:2108:/var/qmail/alias:-::
+joe-:joe:507:100:/home/joe:-::
=joe:joe:507:100:/home/joe:::
=Joe.Shmoe:joe:507:100:/home/joe:::
+joe-list-:lists:600:600:/home/lists:-:joe-:
+MixedCase-:mixed:700:700:/home/mixed:-:pre-:
=dup:first:801:801:/home/first:::
=DUP:second:802:802:/home/second:::
+wdup-:first:801:801:/home/first:-::
+wdup-:second:802:802:/home/second:-::
.
`

func mustParse(t *testing.T, text string) *Table {
	t.Helper()
	table, err := Parse(strings.NewReader(text))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return table
}

func TestParseGood(t *testing.T) {
	table := mustParse(t, goodAssign)
	if got := table.Len(); got != 10 {
		t.Errorf("Len = %d, want 10", got)
	}
	e, ok := table.Lookup("joe")
	want := Entry{User: "joe", UID: 507, GID: 100, Home: "/home/joe"}
	if !ok || e != want {
		t.Errorf("Lookup(joe) = %+v, %v; want %+v", e, ok, want)
	}
}

func TestParseTerminator(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		ok    bool
		local string // looked up when ok; must resolve to user "u"
	}{
		{"empty file", "", false, ""},
		{"only dot", ".\n", true, ""},
		{"dot without newline", "=a:u:1:1:/h:::\n.", true, "a"},
		{"missing dot", "=a:u:1:1:/h:::\n", false, ""},
		{"truncated last line", "=a:u:1:1:/h:::\n=b:u:1:1:/h", false, ""},
		{"complete last line without newline", "=a:u:1:1:/h:::", false, ""},
		{"garbage after dot is not read", "=a:u:1:1:/h:::\n.\nthis is not an assignment\n\x00", true, "a"},
		{"assignment after dot is not read", ".\n=a:u:1:1:/h:::\n", true, ""},
		{"dot with trailing text", "=a:u:1:1:/h:::\n.x\n", false, ""},
		{"dot with trailing space", "=a:u:1:1:/h:::\n. \n", false, ""},
		{"dot with CR", "=a:u:1:1:/h:::\n.\r\n", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table, err := Parse(strings.NewReader(tt.text))
			if (err == nil) != tt.ok {
				t.Fatalf("Parse error = %v, want ok=%v", err, tt.ok)
			}
			if err != nil {
				var pe *ParseError
				if !errors.As(err, &pe) {
					t.Fatalf("error %v is not a *ParseError", err)
				}
				return
			}
			if tt.local == "" {
				if table.Len() != 0 {
					t.Errorf("Len = %d, want 0", table.Len())
				}
				return
			}
			if e, ok := table.Lookup(tt.local); !ok || e.User != "u" {
				t.Errorf("Lookup(%q) = %+v, %v", tt.local, e, ok)
			}
		})
	}
}

func TestParseMissingDotSaysTruncated(t *testing.T) {
	for _, text := range []string{"", "=a:u:1:1:/h:::\n", "=a:u:1:1:/h:::\n=b:u"} {
		_, err := Parse(strings.NewReader(text))
		if err == nil || !strings.Contains(err.Error(), "truncated") {
			t.Errorf("Parse(%q) error = %v, want one saying the file may be truncated", text, err)
		}
	}
}

func TestParseMalformed(t *testing.T) {
	tests := []struct {
		name   string
		line   string
		reason string // substring of the error
	}{
		{"empty line", "", "empty line"},
		{"comment", "# joe:joe:507:100:/home/joe:::", "comments are not allowed"},
		{"comment with seven colons", "#joe:joe:507:100:/home/joe:::", "comments are not allowed"},
		{"other first char", "xjoe:joe:507:100:/home/joe:::", "must start with"},
		{"leading space", " =joe:joe:507:100:/home/joe:::", "must start with"},
		{"starts with dot", ".joe:joe:507:100:/home/joe:::", "must be exactly"},
		{"too few fields", "=joe:joe:507:100:/home/joe::", "6 ':' separators"},
		{"too many fields", "=joe:joe:507:100:/home/joe::::", "8 ':' separators"},
		{"no trailing colon", "=joe:joe:507:100:/home/joe::x:y", "does not end with ':'"},
		{"trailing text", "=joe:joe:507:100:/home/joe:::extra", "does not end with ':'"},
		{"no colon", "=joe", "0 ':' separators"},
		{"NUL", "=jo\x00e:joe:507:100:/home/joe:::", "NUL"},
		{"CRLF", "=joe:joe:507:100:/home/joe:::\r", "carriage return"},
		{"empty user", "=joe::507:100:/home/joe:::", "empty user"},
		{"empty uid", "=joe:joe::100:/home/joe:::", "uid"},
		{"negative uid", "=joe:joe:-5:100:/home/joe:::", "uid"},
		{"plus uid", "=joe:joe:+5:100:/home/joe:::", "uid"},
		{"hex uid", "=joe:joe:0x1f:100:/home/joe:::", "uid"},
		{"spaced uid", "=joe:joe: 507:100:/home/joe:::", "uid"},
		{"uid too large", "=joe:joe:4294967296:100:/home/joe:::", "uid"},
		{"uid -1", "=joe:joe:4294967295:100:/home/joe:::", "uid"},
		{"uid zero", "=joe:root:0:0:/root:::", "uid 0"},
		{"uid zero padded", "=joe:root:000:0:/root:::", "uid 0"},
		{"bad gid", "=joe:joe:507:staff:/home/joe:::", "gid"},
		{"relative home", "=joe:joe:507:100:home/joe:::", "absolute"},
		{"empty home", "=joe:joe:507:100::::", "absolute"},
		{"bad dash", "=joe:joe:507:100:/home/joe:_::", "dash"},
		{"double dash", "+joe:joe:507:100:/home/joe:--::", "dash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := "=ok:ok:1:1:/ok:::\n" + tt.line + "\n=ok2:ok:1:1:/ok:::\n.\n"
			_, err := Parse(strings.NewReader(text))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse error = %v, want *ParseError", err)
			}
			if pe.Line != 2 {
				t.Errorf("Line = %d, want 2 (%v)", pe.Line, err)
			}
			if !strings.Contains(err.Error(), tt.reason) || !strings.Contains(err.Error(), "line 2") {
				t.Errorf("error %q does not contain %q and the line", err, tt.reason)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name  string
		line  string
		local string
		want  Entry
	}{
		{"gid zero", "=a:u:5:0:/h:::", "a", Entry{User: "u", UID: 5, Home: "/h"}},
		{"leading zeros", "=a:u:007:010:/h:::", "a", Entry{User: "u", UID: 7, GID: 10, Home: "/h"}},
		{"largest id", "=a:u:4294967294:4294967294:/h:::", "a", Entry{User: "u", UID: 4294967294, GID: 4294967294, Home: "/h"}},
		{"empty local", "=:u:5:5:/h:::", "", Entry{User: "u", UID: 5, GID: 5, Home: "/h"}},
		{"spaces kept", "=a b:u s:5:5:/h d:-:e x:", "A B", Entry{User: "u s", UID: 5, GID: 5, Home: "/h d", Dash: "-", Ext: "e x"}},
		{"at sign and dots", "=j.o@x:u:5:5:/h:::", "J.O@X", Entry{User: "u", UID: 5, GID: 5, Home: "/h"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table := mustParse(t, tt.line+"\n.\n")
			if got, ok := table.Lookup(tt.local); !ok || got != tt.want {
				t.Errorf("Lookup(%q) = %+v, %v; want %+v", tt.local, got, ok, tt.want)
			}
		})
	}
}

func TestParseReadError(t *testing.T) {
	r := iotest.TimeoutReader(strings.NewReader("=a:u:1:1:/h:::\n.\n"))
	// TimeoutReader fails its second read; a 1-byte reader forces a second read.
	_, err := Parse(iotest.OneByteReader(r))
	if err == nil || !errors.Is(err, iotest.ErrTimeout) {
		t.Fatalf("Parse error = %v, want one wrapping iotest.ErrTimeout", err)
	}
}

func TestLookup(t *testing.T) {
	table := mustParse(t, goodAssign)
	joe := Entry{User: "joe", UID: 507, GID: 100, Home: "/home/joe"}
	joeWild := func(ext string) Entry { e := joe; e.Dash = "-"; e.Ext = ext; return e }
	alias := func(ext string) Entry {
		return Entry{User: "alias", UID: 7790, GID: 2108, Home: "/var/qmail/alias", Dash: "-", Ext: ext}
	}
	lists := func(ext string) Entry {
		return Entry{User: "lists", UID: 600, GID: 600, Home: "/home/lists", Dash: "-", Ext: "joe-" + ext}
	}
	tests := []struct {
		local string
		want  Entry
	}{
		// qmail-users(5)'s example.
		{"joe", joe},
		{"joe-direct", joeWild("direct")},
		{"bill", alias("bill")},
		// Case-insensitive keys; the rest keeps its case.
		{"JOE", joe},
		{"Joe-Direct", joeWild("Direct")},
		{"joe.shmoe", joe},
		{"JOE.SHMOE", joe},
		{"Bill", alias("Bill")},
		// A wildcard matches its loc itself.
		{"joe-", joeWild("")},
		// The longest wildcard wins over shorter ones.
		{"joe-list-x", lists("x")},
		{"joe-list-", lists("")},
		{"joe-list", joeWild("list")},
		{"JOE-LIST-Owner", lists("Owner")},
		// A wildcard written in upper case still matches (qmail-lspawn's
		// wildchars pruning made it unreachable).
		{"mixedcase-x", Entry{User: "mixed", UID: 700, GID: 700, Home: "/home/mixed", Dash: "-", Ext: "pre-x"}},
		{"MIXEDCASE-", Entry{User: "mixed", UID: 700, GID: 700, Home: "/home/mixed", Dash: "-", Ext: "pre-"}},
		// Duplicates: the first line wins, for simple and wildcard alike,
		// even when the keys differ only in case.
		{"dup", Entry{User: "first", UID: 801, GID: 801, Home: "/home/first"}},
		{"wdup-x", Entry{User: "first", UID: 801, GID: 801, Home: "/home/first", Dash: "-", Ext: "x"}},
		// A simple assignment matches only the whole local part.
		{"dupx", alias("dupx")},
		{"", alias("")},
		// Non-ASCII case folding is not applied: KELVIN SIGN is not 'k'.
		{"\u212Aoe", alias("\u212Aoe")},
	}
	for _, tt := range tests {
		got, ok := table.Lookup(tt.local)
		if !ok || got != tt.want {
			t.Errorf("Lookup(%q) = %+v, %v; want %+v", tt.local, got, ok, tt.want)
		}
	}
}

func TestLookupSimpleBeatsWildcard(t *testing.T) {
	// The wildcard for the whole name comes first in the file and is longer
	// than any other; the simple assignment still wins.
	table := mustParse(t, "+joe:wild:1:1:/w:-::\n=joe:simple:2:2:/s:::\n.\n")
	if e, _ := table.Lookup("joe"); e.User != "simple" {
		t.Errorf("Lookup(joe).User = %q, want simple", e.User)
	}
	if e, _ := table.Lookup("joex"); e.User != "wild" || e.Ext != "x" {
		t.Errorf("Lookup(joex) = %+v, want wild with Ext x", e)
	}
}

func TestLookupNoMatch(t *testing.T) {
	table := mustParse(t, "=joe:joe:1:1:/h:::\n+list-:l:2:2:/l:-::\n.\n")
	for _, local := range []string{"jo", "joex", "list", "lis", ""} {
		if e, ok := table.Lookup(local); ok {
			t.Errorf("Lookup(%q) = %+v, want no match", local, e)
		}
	}
	var nilTable *Table
	if _, ok := nilTable.Lookup("joe"); ok || nilTable.Len() != 0 {
		t.Error("nil Table matched or has entries")
	}
}

func TestLowerASCII(t *testing.T) {
	tests := map[string]string{
		"":           "",
		"abc":        "abc",
		"ABC-xYz":    "abc-xyz",
		"\u212A":     "\u212A",
		"Ä@Z[`":      "Ä@z[`",
		"0123456789": "0123456789",
	}
	for in, want := range tests {
		if got := lowerASCII(in); got != want {
			t.Errorf("lowerASCII(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestParseReportsEveryBadLine: every malformed line is named (Parse
// stopped at the first), and the file is still refused as a whole.
func TestParseReportsEveryBadLine(t *testing.T) {
	table, err := Parse(strings.NewReader("=a:u:1:1:/h:::\n#comment\n=b:u:0:1:/h:::\n=c:u:1:1:/h:::\n.\n"))
	var pes ParseErrors
	if table != nil || !errors.As(err, &pes) || len(pes) != 2 || pes[0].Line != 2 || pes[1].Line != 3 {
		t.Fatalf("Parse = %v, %v; want errors on lines 2 and 3", table, err)
	}
}
