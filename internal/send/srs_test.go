package send

import (
	"strings"
	"testing"
	"time"

	"goqmail/internal/rewrite"
	"goqmail/internal/srs"
)

func srsCore(t *testing.T) (*Core, *recorder, *srs.Codec) {
	rec := &recorder{}
	clk := &clock{t: t0}
	codec := &srs.Codec{Domain: "example.org", Secrets: []string{"a test secret 12345"}, MaxAge: 21, Now: clk.now}
	c := NewCore(clk.now, rec, Config{ConcurrencyLocal: 10, ConcurrencyRemote: 20, Lifetime: time.Hour,
		Rules: rewrite.Build("example.org", []string{"example.org"}, nil, nil), SRS: codec})
	c.SetSpawner(true)
	c.SetRemote(true)
	return c, rec, codec
}

// A local delivery of mail from a foreign sender carries the SRS address
// goqmail-local forwards from; mail from our own domains and the null
// sender keep their sender.
func TestLocalDeliveryCarriesSRSSender(t *testing.T) {
	for _, tt := range []struct{ sender, want string }{
		{"ann@orig.example", "SRS0="},
		{"joe@example.org", ""},
		{"", ""},
	} {
		c, rec, codec := srsCore(t)
		m, st := msg("0000000000000001", "fwd@example.org")
		m.Sender = tt.sender
		c.AddMsg(m, st, true)
		c.Tick()
		if len(rec.delivers) != 1 {
			t.Fatalf("deliveries: %d", len(rec.delivers))
		}
		fs := rec.delivers[0].ForwardSender
		if !strings.HasPrefix(fs, tt.want) || (tt.want == "") != (fs == "") {
			t.Errorf("sender %q: forward sender %q", tt.sender, fs)
		}
		if tt.want != "" {
			if back, err := codec.Reverse(fs, true); err != nil || back != tt.sender {
				t.Errorf("%s reverses to %s, %v", fs, back, err)
			}
		}
	}
}

// A bounce to one of our SRS addresses goes to the original sender; a
// forged one stays a local address (and bounces as no such mailbox).
func TestSRSRecipientRoutesToOriginalSender(t *testing.T) {
	c, rec, codec := srsCore(t)
	addr, _ := codec.Forward("ann@orig.example")
	forged := strings.Replace(addr, "=ann@", "=bob@", 1)
	m, st := msg("0000000000000002", addr, forged)
	m.Sender = ""
	c.AddMsg(m, st, true)
	c.Tick()
	if len(rec.remotes) != 1 || rec.remotes[0].Rcpts[0] != "ann@orig.example" || rec.remotes[0].Domain != "orig.example" {
		t.Fatalf("remote jobs %+v", rec.remotes)
	}
	if len(rec.delivers) != 1 || rec.delivers[0].Rcpt != forged {
		t.Fatalf("local deliveries %+v", rec.delivers)
	}
}
