package quota

import (
	"errors"
	"math"
	"testing"
)

func TestParseDefinition(t *testing.T) {
	tests := []struct {
		in   string
		want Limits
	}{
		{"", Limits{}},
		{"0S", Limits{}},
		{"1048576S,1000C", Limits{1048576, 1000}},
		{"1000C,1048576S", Limits{1048576, 1000}},
		{"10000000S", Limits{Bytes: 10000000}},
		{"1000C", Limits{Messages: 1000}},
		{"0S,5C", Limits{Messages: 5}},
		{"007S", Limits{Bytes: 7}},
		{"1S,2S", Limits{Bytes: 2}}, // later wins, as in Courier and Dovecot
		{"9223372036854775807S", Limits{Bytes: math.MaxInt64}},
		{"99999999999999999999999S,1C", Limits{math.MaxInt64, 1}}, // capped like Dovecot
	}
	for _, tt := range tests {
		got, err := ParseDefinition(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseDefinition(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseDefinitionRejects(t *testing.T) {
	for _, in := range []string{
		"S", "C", "1000", "1000B", "1000s", "-5S", "+5S", " 1000S", "1000S ", "1000S,",
		",1000S", "1000S,,1C", "10 00S", "1000S\n", "0x10S", "1000SC",
	} {
		if l, err := ParseDefinition(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseDefinition(%q) = %+v, %v; want ErrInvalid", in, l, err)
		}
	}
}

func TestLimitsString(t *testing.T) {
	tests := []struct {
		in   Limits
		want string
	}{
		{Limits{}, "0S"}, // Dovecot: "write 0S instead of an empty line"
		{Limits{1048576, 1000}, "1048576S,1000C"},
		{Limits{Bytes: 5}, "5S"},
		{Limits{Messages: 5}, "5C"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDefinitionRoundTrip(t *testing.T) {
	for _, l := range []Limits{{}, {1, 0}, {0, 1}, {1048576, 1000}, {math.MaxInt64, math.MaxInt64}} {
		got, err := ParseDefinition(l.String())
		if err != nil || got != l {
			t.Errorf("ParseDefinition(%q) = %+v, %v; want %+v", l.String(), got, err, l)
		}
	}
	// A definition in another spelling comes back in the canonical one.
	for in, canon := range map[string]string{"": "0S", "1000C,5S": "5S,1000C", "0S,0C": "0S", "01S": "1S"} {
		l, err := ParseDefinition(in)
		if err != nil || l.String() != canon {
			t.Errorf("ParseDefinition(%q).String() = %q, %v; want %q", in, l.String(), err, canon)
		}
	}
}

func TestFits(t *testing.T) {
	tests := []struct {
		lim  Limits
		u    Usage
		size int64
		want bool
	}{
		{Limits{}, Usage{math.MaxInt64, math.MaxInt64}, math.MaxInt64, true},
		{Limits{Bytes: 100}, Usage{Bytes: 60}, 40, true}, // reaching the limit is fine
		{Limits{Bytes: 100}, Usage{Bytes: 60}, 41, false},
		{Limits{Bytes: 100}, Usage{Bytes: 0}, 101, false},
		{Limits{Messages: 2}, Usage{Messages: 1}, 1 << 40, true},
		{Limits{Messages: 2}, Usage{Messages: 2}, 0, false},
		{Limits{Bytes: 100, Messages: 2}, Usage{Bytes: 10, Messages: 2}, 1, false},
		{Limits{Bytes: math.MaxInt64}, Usage{Bytes: math.MaxInt64}, 1, true}, // saturates, never wraps
		{Limits{Bytes: math.MaxInt64 - 1}, Usage{Bytes: math.MaxInt64 - 1}, 2, false},
	}
	for _, tt := range tests {
		if got := tt.lim.Fits(tt.u, tt.size); got != tt.want {
			t.Errorf("%+v.Fits(%+v, %d) = %v, want %v", tt.lim, tt.u, tt.size, got, tt.want)
		}
	}
}
