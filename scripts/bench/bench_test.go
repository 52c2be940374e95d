package main

import (
	"testing"
)

// The bench is a command, not a test (docs/bench.md): these check only
// its arithmetic and parsing, never a speed.

func TestParseDiskStat(t *testing.T) {
	// Linux 6.18, /sys/block/vda/stat: 17 fields.
	c, err := parseDiskStat([]byte(" 1384486   238833 30708442  1536227  8916782  3820752 196779936  2674717        0   992364  4812291  4078543    11146 179353528   416318  1568370   185028\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := (diskCount{writes: 8916782, sectors: 196779936, flushes: 1568370, hasFlush: true}); c != want {
		t.Errorf("17 fields: got %+v, want %+v", c, want)
	}
	// Before Linux 5.5: no flush fields, so no flush count (not zero flushes).
	c, err = parseDiskStat([]byte("1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := (diskCount{writes: 5, sectors: 7}); c != want {
		t.Errorf("15 fields: got %+v, want %+v", c, want)
	}
	if p := c.perMessage(disk{stat: "x"}, 1); p.cells() != "5.00 | n/a | 3.5" {
		t.Errorf("15 fields: cells %q, want flushes n/a", p.cells())
	}
	for _, bad := range []string{"", "1 2 3", "1 2 3 4 x 6 7 8 9 10 11"} {
		if _, err := parseDiskStat([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestDiskPerMessage(t *testing.T) {
	before := diskCount{writes: 100, sectors: 1000, flushes: 10, hasFlush: true}
	after := diskCount{writes: 400, sectors: 9000, flushes: 50, hasFlush: true}
	p := after.minus(before).perMessage(disk{stat: "x"}, 100)
	// 8000 sectors of 512 bytes = 4000 KB over 100 messages.
	if p.writes != 3 || p.flushes != 0.4 || p.kb != 40 || !p.hasFlush {
		t.Errorf("got %+v, want 3 writes, 0.4 flushes, 40 KB per message", p)
	}
	if got := (diskCount{}).perMessage(disk{}, 10).cells(); got != "n/a | n/a | n/a" {
		t.Errorf("no block device: %q", got)
	}
}

func TestPercentile(t *testing.T) {
	v := []float64{10, 1, 9, 2, 8, 3, 7, 4, 6, 5}
	for _, c := range []struct {
		pct  int
		want float64
	}{{50, 5}, {95, 10}, {10, 1}, {100, 10}} {
		if got := percentile(v, c.pct); got != c.want {
			t.Errorf("p%d of 1..10: %v, want %v", c.pct, got, c.want)
		}
	}
	if got := percentile([]float64{3}, 95); got != 3 {
		t.Errorf("p95 of one value: %v", got)
	}
}

func TestOnlySelectsAList(t *testing.T) {
	defer func(o string) { *only = o }(*only)
	defer func(n []string) { scenarioNames = n }(scenarioNames)
	scenarioNames = []string{"20 sessions, 4 KB", "20 sessions, 4 KB, reused connections", "1 session, 4 KB"}
	*only = "local, neighbour"
	for _, c := range []struct {
		sc   scenario
		want bool
	}{
		{scenario{name: "1 session, 4 KB", group: groupLocal}, true},
		{scenario{name: "neighbour: 20 sessions, 4 KB", group: groupNeighbour}, true},
		{scenario{name: "single message, 4 KB", group: groupLatency}, false},
		{scenario{name: "relay: 20 sessions, 4 KB, 1 rcpt", group: groupRelay}, false},
	} {
		if got := c.sc.selected(); got != c.want {
			t.Errorf("-only %q, %q: selected %v, want %v", *only, c.sc.name, got, c.want)
		}
	}
	// A scenario's name has commas of its own (docs/bench.md's example
	// -only "20 sessions, 4 KB" was refused once the list came).
	for _, c := range []struct {
		only, name string
		want       bool
	}{
		{"20 sessions, 4 KB", "20 sessions, 4 KB", true},
		{"20 sessions, 4 KB", "1 session, 4 KB", false},
		{"20 sessions, 4 KB", "neighbour: 20 sessions, 4 KB", false},
		{"20 sessions, 4 KB", "relay: 20 sessions, 4 KB, 1 rcpt", false},
		{"latency,20 sessions, 4 KB", "20 sessions, 4 KB", true},
		{"latency,20 sessions, 4 KB", "single message, 4 KB", true},
		// One whole name that holds another: only itself.
		{"20 sessions, 4 KB, reused connections", "20 sessions, 4 KB, reused connections", true},
		{"20 sessions, 4 KB, reused connections", "20 sessions, 4 KB", false},
	} {
		*only = c.only
		sc := scenario{name: c.name, group: "x"}
		if c.name == "single message, 4 KB" {
			sc.group = groupLatency
		}
		if got := sc.selected(); got != c.want {
			t.Errorf("-only %q, %q: selected %v, want %v", c.only, c.name, got, c.want)
		}
	}
}

func TestOwnShare(t *testing.T) {
	// 2 runs of 50 messages each; ticks are 10 ms.
	g := cpuUsage{byComm: map[string]int64{"goqmail-local": 30, "goqmail-smtpd": 20, "smtp-source": 40, "kworker/0:1H": 5}}
	p := cpuUsage{byComm: map[string]int64{"cleanup": 60, "smtpd": 40, "smtp-source": 40, "bench": 9}}
	if n := g.ownTicks("goqmail"); n != 50 {
		t.Errorf("goqmail own ticks %d, want 50 (smtp-source and kernel threads are not its own)", n)
	}
	if n := p.ownTicks("postfix"); n != 100 {
		t.Errorf("postfix own ticks %d, want 100", n)
	}
	res := map[string][]result{"goqmail": {{cpu: g}, {cpu: g}}, "postfix": {{cpu: p}, {cpu: p}}}
	want := "x: own processes, goqmail 10.000 ms/msg, Postfix 20.000 ms/msg: goqmail uses 0.50 of Postfix's CPU"
	if got := ownShare("x", res, 100); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if got := ownShare("x", map[string][]result{"goqmail": {{cpu: g}}}, 100); got != "" {
		t.Errorf("without Postfix figures: %q, want nothing", got)
	}
}

func TestOwnDetail(t *testing.T) {
	// 100 messages; ticks are 10 ms.
	u := cpuUsage{own: map[string]procCost{
		"goqmail-local": {user: 2, sys: 6, vol: 1400, invol: 250},
		"goqmail-smtpd": {user: 3, sys: 3, vol: 600, invol: 200},
		"goqmail-web":   {},
		"cleanup":       {user: 9, sys: 9, vol: 100, invol: 10},
	}}
	want := "all 1.400 (user 0.500, sys 0.900; switches 20.0+4.5); " +
		"goqmail-local 0.800 (user 0.200, sys 0.600; switches 14.0+2.5); " +
		"goqmail-smtpd 0.600 (user 0.300, sys 0.300; switches 6.0+2.0)"
	if got := u.ownDetail("goqmail", 100); got != want {
		t.Errorf("got  %q\nwant %q (Postfix's cleanup is not goqmail's; an idle program is left out)", got, want)
	}
}

func TestParseStatAndSwitches(t *testing.T) {
	stat := "4242 (goqmail-local) S 1 4242 4242 0 -1 4194560 900 0 0 0 17 23 0 0 20 0 9 0 123456 1000 100 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
	comm, user, sys, start, ok := parseStat([]byte(stat))
	if !ok || comm != "goqmail-local" || user != 17 || sys != 23 || start != "123456" {
		t.Errorf("parseStat: %q %d %d %q %v, want goqmail-local 17 23 123456 true", comm, user, sys, start, ok)
	}
	if _, _, _, _, ok := parseStat([]byte("4242 (x) S 1 2")); ok {
		t.Error("parseStat accepted a short line")
	}
	status := "Name:\tgoqmail-local\nState:\tS (sleeping)\nvoluntary_ctxt_switches:\t1234\nnonvoluntary_ctxt_switches:\t56\n"
	if v, n := parseSwitches([]byte(status)); v != 1234 || n != 56 {
		t.Errorf("parseSwitches: %d %d, want 1234 56", v, n)
	}
}
