package dotqmail

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	fw := func(v string) Instruction { return Instruction{Forward, v} }
	tests := []struct {
		name string
		in   string
		xbit bool
		want []Instruction
		err  error
	}{
		{"empty", "", false, nil, nil},
		{"all kinds", "# comment\n./Maildir/\n/var/mail/u\n|preline cat\n&a@b\nbob@x\n9z@y\n", false, []Instruction{
			{Maildir, "./Maildir/"}, {Mbox, "/var/mail/u"}, {Program, "preline cat"}, fw("a@b"), fw("bob@x"), fw("9z@y")}, nil},
		{"trailing blanks stripped", "./Mailbox \t\n|cmd arg  \n&x@y\t\n", false, []Instruction{
			{Mbox, "./Mailbox"}, {Program, "cmd arg"}, fw("x@y")}, nil},
		{"maildir only with slash", "./Maildir\n./Maildir/\n.\n/\n", false, []Instruction{
			{Mbox, "./Maildir"}, {Maildir, "./Maildir/"}, {Mbox, "."}, {Maildir, "/"}}, nil},
		{"last line without newline", "&a@b", false, []Instruction{fw("a@b")}, nil},
		{"later blank lines skipped", "&a@b\n\n   \n&c@d\n", false, []Instruction{fw("a@b"), fw("c@d")}, nil},
		{"blank first line", "\n&a@b\n", false, nil, ErrBlankFirstLine},
		{"spaces-only first line", " \t\n&a@b\n", false, nil, ErrBlankFirstLine},
		{"lone newline", "\n", false, nil, ErrBlankFirstLine},
		{"other first characters forward as in qmail", "-x@y\n\\u\n", false, []Instruction{fw("-x@y"), fw("\\u")}, nil},
		{"program with empty command", "|\n", false, []Instruction{{Program, ""}}, nil},
		{"leading space kept in forward", "& x@y\n", false, []Instruction{fw(" x@y")}, nil},
		{"x bit allows forwards", "#c\n&a@b\nc@d\n", true, []Instruction{fw("a@b"), fw("c@d")}, nil},
		{"x bit refuses files", "&a@b\n./Maildir/\n", true, nil, ErrFileForwardOnly},
		{"x bit refuses mbox", "/var/mail/x\n", true, nil, ErrFileForwardOnly},
		{"x bit refuses programs", "|cat\n", true, nil, ErrProgForwardOnly},
		{"+list makes the rest forward-only", "./Maildir/\n+list\n&a@b\n|cat\n", false, nil, ErrProgForwardOnly},
		{"+list allows earlier lines", "./Maildir/\n|cat\n+list\n&a@b\n", false, []Instruction{{Maildir, "./Maildir/"}, {Program, "cat"}, fw("a@b")}, nil},
		{"other + lines ignored", "+lists\n+\n./x\n", false, []Instruction{{Mbox, "./x"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.in), tt.xbit)
			if !errors.Is(err, tt.err) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseRefusesWhatQmailWouldMisread(t *testing.T) {
	for _, in := range []string{"&\n", "&a@b\n&\t\n", "a@b\x00c\n", "&" + strings.Repeat("a", 1001) + "\n", "&a@b\r\n"} {
		_, err := Parse([]byte(in), false)
		if err == nil || !strings.HasSuffix(err.Error(), "(#4.7.0)") {
			t.Errorf("Parse(%q) error %v", in, err)
		}
	}
}

func TestInstructionString(t *testing.T) {
	for _, line := range []string{"&a@b", "|cmd x", "./Maildir/", "/var/mail/u"} {
		got, err := Parse([]byte(line), false)
		if err != nil || len(got) != 1 || got[0].String() != line {
			t.Errorf("%q: %+v %v", line, got, err)
		}
	}
	if Instruction(Instruction{Forward, "bob"}).String() != "&bob" {
		t.Error("bare forward not written with &")
	}
}
