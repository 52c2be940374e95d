package route

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestDeadHostsQmailRules(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_000_000, 0)}
	d := NewDeadHosts(clk.now, 0) // horizon (60+0)<<6 = 3840 s
	ip := netip.MustParseAddr("192.0.2.1")
	mapped := netip.MustParseAddr("::ffff:192.0.2.1")

	d.Timeout(ip)
	if d.Dead(ip) {
		t.Fatal("dead after one timeout; qmail needs two")
	}
	clk.advance(60 * time.Second)
	d.Timeout(ip) // within 120 s: does not count
	if d.Dead(ip) {
		t.Fatal("two timeouts 60 s apart counted twice")
	}
	clk.advance(61 * time.Second) // 121 s after the counted one
	d.Timeout(mapped)
	if !d.Dead(ip) || !d.Dead(mapped) {
		t.Fatal("not dead after two counted timeouts (mapped and plain address are one host)")
	}
	clk.advance(3839 * time.Second)
	if !d.Dead(ip) {
		t.Fatal("revived before the horizon")
	}
	clk.advance(time.Second)
	if d.Dead(ip) {
		t.Fatal("still dead at the horizon")
	}
	d.Timeout(ip) // the count stays, so one more timeout kills it again
	if !d.Dead(ip) {
		t.Fatal("an old dead host's next timeout did not count")
	}
	d.Success(ip)
	if d.Dead(ip) {
		t.Fatal("a successful connect did not clear the host")
	}
	var nilTable *DeadHosts
	nilTable.Timeout(ip)
	if nilTable.Dead(ip) {
		t.Fatal("nil table reports dead")
	}
}

func TestDeadHostsJitterAndCap(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_000_000, 0)}
	d := NewDeadHosts(clk.now, 31+32) // jitter mod 32 = 31: horizon 91<<6 = 5824 s
	if d.horizon != 5824*time.Second {
		t.Fatalf("horizon %v", d.horizon)
	}
	for i := range deadSlots + 10 {
		ip := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		d.Timeout(ip)
		clk.advance(time.Second)
	}
	if len(d.byAddr) != deadSlots {
		t.Fatalf("table holds %d entries, cap %d", len(d.byAddr), deadSlots)
	}
	// The oldest entries were evicted.
	if _, ok := d.byAddr[netip.AddrFrom4([4]byte{10, 0, 0, 0})]; ok {
		t.Error("oldest entry survived eviction")
	}
	if _, ok := d.byAddr[netip.AddrFrom4([4]byte{10, 0, 0, deadSlots + 9})]; !ok {
		t.Error("newest entry missing")
	}
}

func TestDeadHostsFilter(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_000_000, 0)}
	d := NewDeadHosts(clk.now, 0)
	var ts []Target
	for i := 1; i <= 3; i++ {
		ts = append(ts, Target{Addr: netip.MustParseAddr(fmt.Sprintf("192.0.2.%d", i)), Port: 25})
	}
	kill := func(ip netip.Addr) {
		d.Timeout(ip)
		clk.advance(121 * time.Second)
		d.Timeout(ip)
	}
	kill(ts[0].Addr)
	if got := targetsString(d.Filter(ts)); got != "/192.0.2.2:25 /192.0.2.3:25" {
		t.Errorf("one dead: %s", got)
	}
	kill(ts[1].Addr)
	kill(ts[2].Addr)
	if got := d.Filter(ts); len(got) != 3 {
		t.Errorf("all dead: got %d targets, want all 3 tried", len(got))
	}
}
