package quota

import (
	"testing"
	"time"
)

func TestDecide(t *testing.T) {
	full := Usage{Bytes: 1000000, Messages: 10}
	lim := Limits{Bytes: 1000000, Messages: 100}
	tests := []struct {
		name     string
		u        Usage
		lim      Limits
		size     int64
		age      time.Duration
		ok, perm bool
		text     string
	}{
		{"fits", Usage{Bytes: 10}, lim, 5000, 0, true, false, ""},
		{"fits exactly", Usage{Bytes: 990000}, lim, 10000, 2 * time.Hour, true, false, ""},
		{"one byte over", Usage{Bytes: 990001}, lim, 10000, 0, false, false, textFullTemporary},
		{"unlimited", full, Limits{}, 1 << 30, 48 * time.Hour, true, false, ""},
		{"small over quota", full, lim, SmallMessage, 0, true, false, ""},
		{"small over quota old", full, lim, 1, 48 * time.Hour, true, false, ""},
		{"small over count", Usage{Messages: 100}, lim, 200, time.Hour, true, false, ""},
		{"just too big young", full, lim, SmallMessage + 1, 0, false, false, textFullTemporary},
		{"young", full, lim, 5000, 59 * time.Minute, false, false, textFullTemporary},
		{"clock stepped back", full, lim, 5000, -time.Hour, false, false, textFullTemporary},
		{"grace over", full, lim, 5000, OverQuotaGrace, false, true, textFullPermanent},
		{"old", full, lim, 5000, 5 * 24 * time.Hour, false, true, textFullPermanent},
		{"over count old", Usage{Messages: 100}, lim, 5000, 2 * time.Hour, false, true, textFullPermanent},
		{"bigger than the quota", Usage{}, Limits{Bytes: 2000}, 3000, 2 * time.Hour, false, true, textFullPermanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, perm, text := Decide(tt.u, tt.lim, tt.size, tt.age)
			if ok != tt.ok || perm != tt.perm || text != tt.text {
				t.Errorf("Decide = %v, %v, %q; want %v, %v, %q", ok, perm, text, tt.ok, tt.perm, tt.text)
			}
		})
	}
	if textFullTemporary != "The user's mailbox is full. (#4.2.2)" ||
		textFullPermanent != "The user's mailbox is full; I've given up. (#5.2.2)" {
		t.Errorf("refusal texts changed: %q / %q", textFullTemporary, textFullPermanent)
	}
}
