package tcprules

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// want describes the expected result of one lookup: line 0 means no rule.
type want struct {
	ip    string
	line  int
	allow bool
}

func TestLookup(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		wants []want
	}{
		{
			name: "classic tcp.smtp",
			file: "127.:allow,RELAYCLIENT=\"\"\n" +
				"192.168.1.:allow,RELAYCLIENT=\"\"\n" +
				":allow\n",
			wants: []want{
				{"127.0.0.1", 1, true},
				{"127.255.1.2", 1, true},
				{"192.168.1.77", 2, true},
				{"192.168.2.77", 3, true},
				{"8.8.8.8", 3, true},
				{"2001:db8::1", 3, true},
			},
		},
		{
			name:  "no default rule means no match",
			file:  "10.:deny\n",
			wants: []want{{"10.1.2.3", 1, false}, {"11.1.2.3", 0, false}, {"::1", 0, false}},
		},
		{
			name:  "empty file",
			file:  "",
			wants: []want{{"1.2.3.4", 0, false}},
		},
		{
			name: "exact beats prefix beats default whatever the file order",
			file: ":deny\n" +
				"10.:deny\n" +
				"10.1.2.3:allow\n",
			wants: []want{{"10.1.2.3", 3, true}, {"10.1.2.4", 2, false}, {"9.9.9.9", 1, false}},
		},
		{
			name: "longer prefix beats shorter whatever the file order",
			file: "10.:deny\n" +
				"10.1.:allow\n" +
				"10.1.2.:deny\n" +
				"10.0.0.0/7:allow\n" +
				"10.1.2.128/25:allow\n",
			wants: []want{
				{"10.1.2.200", 5, true}, // /25 beats the dotted /24
				{"10.1.2.3", 3, false},
				{"10.1.3.3", 2, true},
				{"10.2.3.4", 1, false}, // dotted /8 beats /7
				{"11.2.3.4", 4, true},
				{"12.0.0.1", 0, false},
			},
		},
		{
			name: "first rule wins on equal specificity",
			file: "10.1.2.:allow,N=\"1\"\n" +
				"10.1.2.0/24:deny\n" +
				"1.2.3.4:deny\n" +
				"1.2.3.1-9:allow\n" +
				"1.2.3.5-6:deny\n",
			wants: []want{
				{"10.1.2.9", 1, true},
				{"1.2.3.4", 3, false},
				{"1.2.3.5", 4, true},
				{"1.2.3.9", 4, true},
				{"1.2.3.10", 0, false},
			},
		},
		{
			name: "exact address beats a /32 CIDR",
			file: "1.2.3.4/32:deny\n" +
				"1.2.3.4:allow\n" +
				"::1/128:deny\n" +
				"::1:allow\n",
			wants: []want{{"1.2.3.4", 2, true}, {"::1", 4, true}},
		},
		{
			name: "ranges in the last component and in a prefix",
			file: "1.2.3.37-53:allow\n" +
				"1.2.3-5.:deny\n" +
				"7.0-1.2.3:allow\n" +
				"8.8.8.007-009:allow\n",
			wants: []want{
				{"1.2.3.36", 2, false},
				{"1.2.3.37", 1, true},
				{"1.2.3.53", 1, true},
				{"1.2.3.54", 2, false},
				{"1.2.4.1", 2, false},
				{"1.2.5.255", 2, false},
				{"1.2.6.1", 0, false},
				{"7.0.2.3", 3, true},
				{"7.1.2.3", 3, true},
				{"7.2.2.3", 0, false},
				{"8.8.8.7", 4, true},
				{"8.8.8.9", 4, true},
				{"8.8.8.10", 0, false},
			},
		},
		{
			name: "whole ranges 0-255",
			file: "1.2.3.0-255:allow\n4.0-255.:deny\n",
			wants: []want{
				{"1.2.3.0", 1, true}, {"1.2.3.255", 1, true},
				{"4.0.0.0", 2, false}, {"4.255.255.255", 2, false},
			},
		},
		{
			name: "IPv6",
			file: "::1:allow,RELAYCLIENT=\"\"\n" +
				"2001:DB8::5:deny\n" +
				"2001:db8::/32:allow\n" +
				"2001:db8:1::/48:deny\n" +
				"::/0:deny\n" +
				"0.0.0.0/0:allow\n",
			wants: []want{
				{"::1", 1, true},
				{"2001:db8::5", 2, false},
				{"2001:db8::6", 3, true},
				{"2001:db8:1::6", 4, false},
				{"2001:db9::1", 5, false},
				{"192.0.2.1", 6, true},
			},
		},
		{
			name: "IPv4-mapped clients match IPv4 rules, mapped rules match IPv4 clients",
			file: "1.2.3.4:allow\n" +
				"10.:deny\n" +
				"::ffff:5.6.7.8:allow\n" +
				"::ffff:172.16.0.0/108:deny\n" +
				"::/0:deny\n",
			wants: []want{
				{"::ffff:1.2.3.4", 1, true},
				{"::ffff:10.9.9.9", 2, false},
				{"5.6.7.8", 3, true},
				{"::ffff:5.6.7.8", 3, true},
				{"172.31.1.1", 4, false},
				{"::ffff:9.9.9.9", 0, false}, // ::/0 is for IPv6 clients only
				{"2001:db8::1", 5, false},
			},
		},
		{
			name:  "CIDR host bits are ignored",
			file:  "10.1.2.3/8:allow\n2001:db8::1/32:deny\n",
			wants: []want{{"10.200.0.1", 1, true}, {"2001:db8:ffff::1", 2, false}},
		},
		{
			name: "comments, blank lines, CR and trailing blanks",
			file: "# a comment\r\n" +
				"\r\n" +
				"   # indented comment\n" +
				" \t \n" +
				"1.2.3.4:allow,X=\"y\" \t\r\n" +
				":deny", // no final newline
			wants: []want{{"1.2.3.4", 5, true}, {"4.3.2.1", 6, false}},
		},
		{
			name: "host and ident rules are dropped, the rest still works",
			file: "=mail.example.com:allow\n" +
				"=.example.com:allow\n" +
				"=:allow\n" +
				"joe@1.2.3.4:allow\n" +
				"1.2.3.:deny\n",
			wants: []want{{"1.2.3.4", 5, false}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, _, err := Parse(strings.NewReader(tt.file))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			for _, w := range tt.wants {
				ip := netip.MustParseAddr(w.ip)
				r, ok := rs.Lookup(ip)
				if ok != (w.line != 0) || r.Line != w.line || (ok && r.Allow != w.allow) {
					t.Errorf("Lookup(%s) = line %d allow %v ok %v; want line %d allow %v",
						w.ip, r.Line, r.Allow, ok, w.line, w.allow)
				}
			}
		})
	}
}

func TestLookupIgnoresZoneAndInvalid(t *testing.T) {
	rs, _, err := Parse(strings.NewReader("fe80::1:allow\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := rs.Lookup(netip.MustParseAddr("fe80::1%eth0")); !ok || r.Line != 1 {
		t.Errorf("zoned client: got %+v %v, want line 1", r, ok)
	}
	if _, ok := rs.Lookup(netip.Addr{}); ok {
		t.Error("the zero Addr matched a rule")
	}
	var nilRules *Rules
	if _, ok := nilRules.Lookup(netip.MustParseAddr("1.2.3.4")); ok {
		t.Error("nil *Rules matched")
	}
}

func TestRuleContents(t *testing.T) {
	file := "1.2.3.4:allow,RELAYCLIENT=\"\",DATABYTES='1000',X=|a\"b'c|,X=\"second\",Q=,x,\n" +
		"5.6.7.8:deny,RELAYCLIENT=\"\"\n" +
		"9.9.9.9:allow\n"
	rs, _, err := Parse(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	r, _ := rs.Lookup(netip.MustParseAddr("1.2.3.4"))
	wantVars := []Var{{"RELAYCLIENT", ""}, {"DATABYTES", "1000"}, {"X", "a\"b'c"}, {"X", "second"}, {"Q", "x"}}
	if !slices.Equal(r.Vars, wantVars) || r.Source != "1.2.3.4" || r.Line != 1 || !r.Allow {
		t.Errorf("rule 1 = %+v, want vars %+v", r, wantVars)
	}
	for _, c := range []struct {
		name, value string
		ok          bool
	}{
		{"RELAYCLIENT", "", true},
		{"DATABYTES", "1000", true},
		{"X", "second", true}, // the later assignment wins, as in the environment
		{"Q", "x", true},
		{"relayclient", "", false},
		{"MISSING", "", false},
	} {
		if v, ok := r.Lookup(c.name); v != c.value || ok != c.ok {
			t.Errorf("Lookup(%q) = %q, %v; want %q, %v", c.name, v, ok, c.value, c.ok)
		}
	}
	d, _ := rs.Lookup(netip.MustParseAddr("5.6.7.8"))
	if d.Allow || len(d.Vars) != 0 {
		t.Errorf("deny rule = %+v, want Allow false and no Vars", d)
	}
	if _, ok := d.Lookup("RELAYCLIENT"); ok {
		t.Error("a deny rule reported RELAYCLIENT")
	}
	// Vars handed out are copies: modifying them must not change the rules.
	r.Vars[0].Value = "changed"
	again, _ := rs.Lookup(netip.MustParseAddr("1.2.3.4"))
	if again.Vars[0].Value != "" {
		t.Error("modifying a looked-up rule changed the rule set")
	}
	all := rs.All()
	if len(all) != 3 || all[0].Line != 1 || all[1].Line != 2 || all[2].Line != 3 {
		t.Errorf("All() = %+v, want the 3 rules in file order", all)
	}
}
