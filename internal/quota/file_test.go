package quota

import (
	"math"
	"strings"
	"testing"
)

func TestParseFile(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		want  fileContents
		wrong bool // must be rebuilt
	}{
		{name: "definition only", in: "1000S\n", want: fileContents{Limits: Limits{Bytes: 1000}}},
		{name: "one count", in: "1048576S,1000C\n123 4\n",
			want: fileContents{Limits: Limits{1048576, 1000}, Usage: Usage{123, 4}, Lines: 1}},
		{name: "negative lines", in: "0S\n1000 3\n500 1\n-200 -1\n-300 -1\n",
			want: fileContents{Usage: Usage{1000, 2}, Lines: 4}},
		{name: "courier padding", in: "5000S\n         1234            2\n          100            1\n",
			want: fileContents{Limits: Limits{Bytes: 5000}, Usage: Usage{1334, 3}, Lines: 2}},
		{name: "tabs", in: "5C\n\t7\t1\t\n", want: fileContents{Limits: Limits{Messages: 5}, Usage: Usage{7, 1}, Lines: 1}},
		{name: "courier empty definition", in: "\n10 1\n", want: fileContents{Usage: Usage{10, 1}, Lines: 1}},
		{name: "sum back to zero", in: "0S\n5 1\n-5 -1\n", want: fileContents{Lines: 2}},
		{name: "saturates", in: "0S\n9223372036854775807 1\n1 1\n",
			want: fileContents{Usage: Usage{math.MaxInt64, 2}, Lines: 2, Saturated: true}},
		{name: "number too big", in: "0S\n99999999999999999999 1\n",
			want: fileContents{Usage: Usage{math.MaxInt64, 1}, Lines: 1, Saturated: true}},

		{name: "empty", in: "", wrong: true},
		{name: "no final newline", in: "0S\n5 1", wrong: true},
		{name: "partial last line", in: "0S\n5 1\n6", wrong: true},
		{name: "NUL", in: "0S\n5 1\x00\n", wrong: true},
		{name: "bad definition", in: "lots\n5 1\n", wrong: true},
		{name: "one number", in: "0S\n5\n", wrong: true},
		{name: "three numbers", in: "0S\n5 1 2\n", wrong: true},
		{name: "empty line", in: "0S\n5 1\n\n", wrong: true},
		{name: "letters", in: "0S\n5x 1\n", wrong: true},
		{name: "lone minus", in: "0S\n- 1\n", wrong: true},
		{name: "negative total bytes", in: "0S\n5 1\n-6 -1\n", wrong: true},
		{name: "negative total count", in: "0S\n5 1\n0 -2\n", wrong: true},
		{name: "CRLF", in: "0S\r\n5 1\r\n", wrong: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseFile([]byte(tt.in))
			if tt.wrong {
				if err == nil {
					t.Fatalf("parseFile(%q) = %+v, want an error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parseFile(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

// TestFormatParses checks that what we write is what we read, in the
// exact bytes Dovecot writes.
func TestFormatParses(t *testing.T) {
	data := formatFile(Limits{1048576, 1000}, Usage{4096, 3})
	if string(data) != "1048576S,1000C\n4096 3\n" {
		t.Fatalf("formatFile = %q", data)
	}
	data = append(data, formatDelta(512)...)
	if !strings.HasSuffix(string(data), "\n512 1\n") {
		t.Fatalf("formatDelta appended %q", data)
	}
	fc, err := parseFile(data)
	want := fileContents{Limits: Limits{1048576, 1000}, Usage: Usage{4608, 4}, Lines: 2}
	if err != nil || fc != want {
		t.Fatalf("parseFile(%q) = %+v, %v; want %+v", data, fc, err, want)
	}
}

func TestSizeFromName(t *testing.T) {
	tests := []struct {
		name string
		size int64
		ok   bool
	}{
		{"1700000000.M1P2Q3R4.host,S=1234", 1234, true},
		{"1700000000.M1P2.host,S=1234:2,S", 1234, true},
		{"1700000000.M1P2.host,S=1234,W=1260:2,", 1234, true},
		{"1700000000.M1P2.host,S=0", 0, true},
		{"1700000000.M1P2.host", 0, false},
		{"1700000000.M1P2.host:2,S", 0, false},
		{"1700000000.M1P2.host,S=", 0, false},
		{"1700000000.M1P2.host,S=12x", 0, false},
		{"1700000000.M1P2.host,S=-5", 0, false},
		{"1700000000.M1P2.host,S=99999999999999999999", 0, false},
	}
	for _, tt := range tests {
		size, ok := sizeFromName(tt.name)
		if size != tt.size || ok != tt.ok {
			t.Errorf("sizeFromName(%q) = %d, %v; want %d, %v", tt.name, size, ok, tt.size, tt.ok)
		}
	}
}
