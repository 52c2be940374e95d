package maildir

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var fixedTime = time.Unix(1700000000, 123456789)

func fixedClock() time.Time { return fixedTime }

// tmpNameRE is the current spec's unique name as we build it.
var tmpNameRE = regexp.MustCompile(`^([0-9]+)\.M([0-9]{1,6})P([0-9]+)Q([0-9]+)R([0-9a-f]{16})\.([^/:,]+)$`)

func TestTmpNameFormat(t *testing.T) {
	osHost, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host, wantHost string
	}{
		{"mx.example.org", "mx.example.org"},
		{"a/b:c,d", `a\057b\072c\054d`},
		{"::", `\072\072`},
		{"", escapeHost(osHost)},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			d := &Deliverer{Host: tt.host}
			before := time.Now().Unix()
			var prevQ uint64
			for i := range 3 {
				name, err := d.tmpName()
				if err != nil {
					t.Fatal(err)
				}
				if strings.HasPrefix(name, ".") || strings.ContainsAny(name, ":/") {
					t.Fatalf("forbidden name %q", name)
				}
				m := tmpNameRE.FindStringSubmatch(name)
				if m == nil {
					t.Fatalf("name %q does not match %v", name, tmpNameRE)
				}
				if sec, _ := strconv.ParseInt(m[1], 10, 64); sec < before || sec > time.Now().Unix() {
					t.Errorf("seconds %s outside the call", m[1])
				}
				if m[3] != strconv.Itoa(os.Getpid()) {
					t.Errorf("pid %s, want %d", m[3], os.Getpid())
				}
				q, _ := strconv.ParseUint(m[4], 10, 64)
				if q != uint64(i+1) || q <= prevQ {
					t.Errorf("Q = %d on call %d", q, i+1)
				}
				prevQ = q
				if m[6] != tt.wantHost {
					t.Errorf("host %q, want %q", m[6], tt.wantHost)
				}
			}
		})
	}
}

func TestTmpNameUsesClock(t *testing.T) {
	name, err := predictable().tmpName()
	if err != nil {
		t.Fatal(err)
	}
	if want := "1700000000.M123456P"; !strings.HasPrefix(name, want) {
		t.Fatalf("name %q, want prefix %q", name, want)
	}
}

func TestNewNameOnlyAddsSize(t *testing.T) {
	tmp := "1700000000.M1P2Q3R0000000000000000.h"
	tests := []struct {
		size int64
		want string
	}{
		{0, tmp + ",S=0"},
		{4096, tmp + ",S=4096"},
	}
	for _, tt := range tests {
		if got := newName(tmp, tt.size); got != tt.want {
			t.Errorf("newName(%d) = %q, want %q", tt.size, got, tt.want)
		}
	}
}
