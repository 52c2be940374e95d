package tcprules

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		file string
		line int
		text string // substring of the message
	}{
		{"missing colon", "1.2.3.4 allow\n", 1, "missing ':'"},
		{"unknown word", "# c\n1.2.3.4:permit\n", 2, "unknown instruction"},
		{"unknown word after host rule", "=a.example:permit\n", 1, `unknown instruction "permit"`},
		{"word with a suffix", "1.2.3.4:allowed\n", 1, `unknown instruction "allowed"`},
		{"capitalised word", "1.2.3.4:Allow\n", 1, "unknown instruction"},
		{"no instruction", "1.2.3.4:\n", 1, "unknown instruction"},
		{"space before word", "1.2.3.4: allow\n", 1, "unknown instruction"},
		{"unterminated quote", "1.2.3.4:allow,RELAYCLIENT=\"\n", 1, "unterminated value for variable RELAYCLIENT"},
		{"unterminated other quote", "1.2.3.4:allow,X='a\"\n", 1, "unterminated"},
		{"missing value", "1.2.3.4:allow,X=\n", 1, "missing value"},
		{"missing equals", "1.2.3.4:allow,RELAYCLIENT\n", 1, "missing '='"},
		{"trailing comma", "1.2.3.4:allow,\n", 1, "missing '='"},
		{"empty var name", "1.2.3.4:allow,=\"x\"\n", 1, "invalid variable name"},
		{"space in var name", "1.2.3.4:allow, X=\"x\"\n", 1, "invalid variable name"},
		{"dash in var name", "1.2.3.4:allow,A-B=\"x\"\n", 1, "invalid variable name"},
		{"junk after value", "1.2.3.4:allow,X=\"a\"b\n", 1, "unexpected \"b\""},
		{"junk after word", "1.2.3.4:deny;\n", 1, "unknown instruction"},
		{"deny vars still checked", "1.2.3.4:deny,X=\"\n", 1, "unterminated"},
		{"NUL byte", "1.2.3.4:allow,X=\"a\x00\"\n", 1, "NUL"},
		{"octet over 255", "1.2.3.256:allow\n", 1, "out of range"},
		{"long octet", "1.2.3.0001:allow\n", 1, "leading zero"},
		{"prefix octet over 255", "300.:allow\n", 1, "out of range"},
		{"leading zero", "010.1.2.3:allow\n", 1, "leading zero"},
		{"three components", "1.2.3:allow\n", 1, "must end in a dot"},
		{"five components", "1.2.3.4.5:allow\n", 1, "4 components"},
		{"four component prefix", "1.2.3.4.:allow\n", 1, "at most 3"},
		{"lone dot", ".:allow\n", 1, "empty component"},
		{"double dot", "1..:allow\n", 1, "empty component"},
		{"letters", "mail.example.com:allow\n", 1, "=host"},
		{"junk octet", "1.2.3.4+:allow\n", 1, "not a decimal"},
		{"leading blank", " 1.2.3.4:allow\n", 1, "invalid address"},
		{"blank before colon", "1.2.3.4 :allow\n", 1, "invalid address"},
		{"blank-only address", "  :allow\n", 1, "invalid address"},
		{"range over 255", "1.2.3.200-300:allow\n", 1, "out of range"},
		{"empty range", "1.2.3.53-37:allow\n", 1, "is empty"},
		{"range without start", "1.2.3.-5:allow\n", 1, "range start"},
		{"range without end", "1.2.3.5-:allow\n", 1, "range end"},
		{"two ranges", "1.2-3.4-5.6:allow\n", 1, "at most one"},
		{"double dash", "1.2.3.4-5-6:allow\n", 1, "range end"},
		{"CIDR length over 32", "10.0.0.0/33:allow\n", 1, "invalid CIDR"},
		{"CIDR length over 128", "2001:db8::/129:allow\n", 1, "invalid CIDR"},
		{"CIDR negative length", "10.0.0.0/-1:allow\n", 1, "invalid CIDR"},
		{"CIDR missing length", "10.0.0.0/:allow\n", 1, "invalid CIDR"},
		{"CIDR short address", "10/8:allow\n", 1, "invalid CIDR"},
		{"CIDR bad address", "10.0.0.256/8:allow\n", 1, "invalid CIDR"},
		{"bad IPv6", "2001:db8:::1:allow\n", 1, "invalid IPv6"},
		{"IPv6 dotted-style prefix", "2001:db8::allow\n", 1, "CIDR form"},
		{"IPv6 zone", "fe80::1%eth0:allow\n", 1, "zone"},
		{"IPv6 range", "2001:db8::1-5:allow\n", 1, "invalid IPv6"},
		{"error after good lines", "1.2.3.4:allow\n\n# x\n1.2.3.999:deny\n", 4, "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, warns, err := Parse(strings.NewReader(tt.file))
			if err == nil {
				t.Fatalf("Parse(%q) accepted the file (rules %+v, warnings %v)", tt.file, rs.All(), warns)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *SyntaxError", err)
			}
			if se.Line != tt.line || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error = %q (line %d); want line %d and %q", err, se.Line, tt.line, tt.text)
			}
			if !strings.HasPrefix(err.Error(), "tcprules: line ") {
				t.Errorf("error %q does not start with \"tcprules: line \"", err)
			}
			if rs != nil || warns != nil {
				t.Error("a failed Parse returned rules or warnings")
			}
		})
	}
}

func TestParseWarnings(t *testing.T) {
	file := "=mail.example.com:allow,RELAYCLIENT=\"\"\n" + // 1
		"=.example.com:deny\n" + // 2
		"=:allow\n" + // 3
		"joe@1.2.3.4:allow\n" + // 4
		"@=host:deny\n" + // 5
		"1.2.3.4:allow\n" + // 6
		"1.2.3.4:deny\n" + // 7: shadowed by 6
		"1.2.3.3-5:deny\n" + // 8: partly new, kept
		"1.2.3.4-5:deny\n" + // 9: wholly shadowed by 6 and 8
		"10.0.0.0/8:allow\n" + // 10
		"10.:deny\n" + // 11: same /8, shadowed by 10
		":allow\n" + // 12
		":deny\n" // 13: second default
	rs, warns, err := Parse(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	wantLines := []int{1, 2, 3, 4, 5, 7, 9, 11, 13}
	var gotLines []int
	for _, w := range warns {
		gotLines = append(gotLines, w.Line)
	}
	if !slices.Equal(gotLines, wantLines) {
		t.Fatalf("warning lines = %v, want %v\n%v", gotLines, wantLines, warns)
	}
	for i, sub := range map[int]string{
		0: "reverse DNS", 1: "reverse DNS", 2: "reverse DNS", 3: "ident", 4: "ident",
		5: "line 6", 6: "line 6", 7: "line 10", 8: "line 12",
	} {
		if !strings.Contains(warns[i].Text, sub) || !strings.Contains(warns[i].Text, "ignored") {
			t.Errorf("warning %v does not mention %q and that the rule is ignored", warns[i], sub)
		}
	}
	if s := warns[0].String(); !strings.HasPrefix(s, "line 1: ") {
		t.Errorf("Warning.String() = %q", s)
	}
	var kept []int
	for _, r := range rs.All() {
		kept = append(kept, r.Line)
	}
	if !slices.Equal(kept, []int{6, 8, 10, 12}) {
		t.Errorf("kept rules on lines %v, want [6 8 10 12]", kept)
	}
}

func TestParseFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "tcp.smtp")
	if err := os.WriteFile(good, []byte("127.:allow,RELAYCLIENT=\"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rs, _, err := ParseFile(good)
	if err != nil || len(rs.All()) != 1 {
		t.Fatalf("ParseFile(good) = %v, %v", rs, err)
	}
	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(bad, []byte("\n1.2.3:allow\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err = ParseFile(bad)
	var se *SyntaxError
	if !errors.As(err, &se) || se.Line != 2 || !strings.Contains(err.Error(), bad) {
		t.Errorf("ParseFile(bad) error = %v; want a SyntaxError on line 2 naming the file", err)
	}
	if _, _, err := ParseFile(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ParseFile(missing) error = %v; want ErrNotExist", err)
	}
}

type failingReader struct{ err error }

func (r failingReader) Read([]byte) (int, error) { return 0, r.err }

func TestParseReadError(t *testing.T) {
	boom := errors.New("boom")
	if _, _, err := Parse(failingReader{boom}); !errors.Is(err, boom) {
		t.Errorf("Parse error = %v; want it to wrap the read error", err)
	}
}

// TestParseReportsEveryBadLine: a file with several bad lines names each
// one (it stopped at the first, so fixing a file took one run per line).
func TestParseReportsEveryBadLine(t *testing.T) {
	_, _, err := Parse(strings.NewReader("127.:allow\nbad line\n10.:allow,X=\"1\"\n192.168.:permit\n"))
	var es SyntaxErrors
	if !errors.As(err, &es) || len(es) != 2 || es[0].Line != 2 || es[1].Line != 4 {
		t.Fatalf("error %v; want syntax errors on lines 2 and 4", err)
	}
	var se *SyntaxError
	if !errors.As(err, &se) || se.Line != 2 {
		t.Errorf("errors.As finds no *SyntaxError in %v", err)
	}
}

// TestParseRefusesNonNumericDataBytes: DATABYTES="10M" was kept and then
// ignored by smtpd, which meant no size limit for that client.
func TestParseRefusesNonNumericDataBytes(t *testing.T) {
	for _, v := range []string{"10M", "", "-1", "1e6"} {
		_, _, err := Parse(strings.NewReader("127.:allow,DATABYTES=\"" + v + "\"\n"))
		var se *SyntaxError
		if !errors.As(err, &se) || se.Line != 1 || !strings.Contains(err.Error(), "is not a number of bytes") {
			t.Errorf("DATABYTES=%q: error %v", v, err)
		}
	}
	if _, _, err := Parse(strings.NewReader("127.:allow,DATABYTES=\"1048576\"\n")); err != nil {
		t.Errorf("DATABYTES=1048576: %v", err)
	}
}
