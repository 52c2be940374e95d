package remote

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"goqmail/internal/proto"
	"goqmail/internal/route"
)

func codes(res []Result) string {
	var b strings.Builder
	for _, r := range res {
		b.WriteByte(r.Code)
	}
	return b.String()
}

func TestDeliverPerRecipientResults(t *testing.T) {
	for _, pipelining := range []bool{true, false} {
		sv := server{rcpt: func(arg string) string {
			switch {
			case strings.Contains(arg, "unknown"):
				return "550 5.1.1 no such user"
			case strings.Contains(arg, "full"):
				return "452 4.2.2 mailbox full"
			}
			return "250 2.1.5 ok"
		}}
		if !pipelining {
			sv.ext = []string{"8BITMIME", "SIZE 1000000"}
		}
		p := startPeer(t, "127.0.0.2", 0, sv.serve)
		c := newClient(t, mxDNS("dest.test", p), p.addr.Port())
		content := "Subject: caf\xc3\xa9\n\nhello\n"
		res := c.Deliver(context.Background(), job("dest.test", content, "a", "unknown", "full", "b"))
		if got := codes(res); got != "KDZK" {
			t.Fatalf("pipelining %v: codes %s, want KDZK: %+v", pipelining, got, res)
		}
		if !strings.Contains(res[1].Text, "does not like recipient./Remote host said: 550 5.1.1 no such user") ||
			!strings.Contains(res[0].Text, "accepted message./Remote host said: 250 2.0.0 ok") ||
			res[0].Host != p.addr.String() {
			t.Errorf("texts: %+v", res)
		}
		msgs := p.messages()
		if len(msgs) != 1 || len(msgs[0].rcpts) != 2 {
			t.Fatalf("peer got %+v, want one message for two recipients", msgs)
		}
		if msgs[0].mail != "FROM:<sender@origin.test> SIZE=25 BODY=8BITMIME" {
			t.Errorf("MAIL %q", msgs[0].mail)
		}
		if msgs[0].data != "Subject: caf\xc3\xa9\r\n\r\nhello\r\n" {
			t.Errorf("data %q", msgs[0].data)
		}
	}
}

func TestDeliverHELOFallbackAndNoExtensions(t *testing.T) {
	p := startPeer(t, "127.0.0.2", 0, server{noEHLO: true}.serve)
	c := newClient(t, mxDNS("dest.test", p), p.addr.Port())
	res := c.Deliver(context.Background(), job("dest.test", "x\xff\n", "a"))
	if codes(res) != "K" {
		t.Fatalf("%+v", res)
	}
	raw := p.received()
	if !strings.Contains(raw, "EHLO client.test\r\nHELO client.test\r\n") {
		t.Errorf("no HELO after refused EHLO:\n%s", raw)
	}
	if m := p.messages(); len(m) != 1 || m[0].mail != "FROM:<sender@origin.test>" {
		t.Errorf("MAIL to a HELO peer carried parameters: %+v", m)
	}
}

func TestDeliverWireCapture(t *testing.T) {
	p := startPeer(t, "127.0.0.2", 0, server{}.serve)
	c := newClient(t, mxDNS("dest.test", p), p.addr.Port())
	content := "Subject: wire\n\n.starts with dot\nlone\rcr\ncrlf\r\n..\n.\nmid.dle\nno final newline"
	res := c.Deliver(context.Background(), job("dest.test", content, `odd "local"`, "a"))
	if codes(res) != "KK" {
		t.Fatalf("%+v", res)
	}
	p.settle()
	raw := p.received()
	// Every line the client sent ends in CRLF; no bare CR or LF anywhere.
	if strings.Contains(strings.ReplaceAll(raw, "\r\n", ""), "\r") || strings.Contains(strings.ReplaceAll(raw, "\r\n", ""), "\n") || !strings.HasSuffix(raw, "\r\n") {
		t.Errorf("bare CR or LF on the wire:\n%q", raw)
	}
	wantData := "Subject: wire\r\n\r\n..starts with dot\r\nlone\r\ncr\r\ncrlf\r\n...\r\n..\r\nmid.dle\r\nno final newline\r\n.\r\n"
	if !strings.Contains(raw, "\r\n"+wantData) {
		t.Errorf("data on the wire:\n%q\nwant it to contain\n%q", raw, wantData)
	}
	if !strings.Contains(raw, "RCPT TO:<\"odd \\\"local\\\"\"@dest.test>\r\n") {
		t.Errorf("quoted local part not sent as a quoted string:\n%q", raw)
	}
	if !strings.HasSuffix(raw, ".\r\nQUIT\r\n") {
		t.Errorf("no QUIT at the end (IdleTimeout < 0 means no reuse):\n%q", raw)
	}
}

func TestDeliverSizeRefusedBeforeSending(t *testing.T) {
	p := startPeer(t, "127.0.0.2", 0, server{ext: []string{"PIPELINING", "SIZE 50"}}.serve)
	c := newClient(t, mxDNS("dest.test", p), p.addr.Port())
	res := c.Deliver(context.Background(), job("dest.test", strings.Repeat("x\n", 30), "a", "b"))
	if codes(res) != "DD" || !strings.Contains(res[0].Text, "(#5.3.4)") {
		t.Fatalf("%+v", res)
	}
	if raw := p.received(); strings.Contains(raw, "MAIL") {
		t.Errorf("MAIL sent for a message over the peer's SIZE:\n%s", raw)
	}
	// At the limit exactly (30 lines of 3 bytes = 90 > 50; 16 lines = 48).
	res = c.Deliver(context.Background(), job("dest.test", strings.Repeat("x\n", 16), "a"))
	if codes(res) != "K" {
		t.Fatalf("under the limit: %+v", res)
	}
}

func TestDeliverSMTPUTF8(t *testing.T) {
	plain := startPeer(t, "127.0.0.2", 0, server{}.serve)
	c := newClient(t, mxDNS("dest.test", plain), plain.addr.Port())
	j := job("dest.test", "hi\n", "jos\xc3\xa9")
	res := c.Deliver(context.Background(), j)
	if codes(res) != "D" || !strings.Contains(res[0].Text, "SMTPUTF8") || !strings.Contains(res[0].Text, "#5.6.7") {
		t.Fatalf("%+v", res)
	}
	if strings.Contains(plain.received(), "MAIL") {
		t.Error("MAIL sent to a peer without SMTPUTF8")
	}
	utf := startPeer(t, "127.0.0.3", 0, server{ext: []string{"PIPELINING", "SMTPUTF8", "8BITMIME"}}.serve)
	c = newClient(t, mxDNS("dest.test", utf), utf.addr.Port())
	res = c.Deliver(context.Background(), job("dest.test", "hi\n", "jos\xc3\xa9"))
	if codes(res) != "K" {
		t.Fatalf("%+v", res)
	}
	m := utf.messages()
	if len(m) != 1 || !strings.HasSuffix(m[0].mail, " SMTPUTF8") || m[0].rcpts[0] != "TO:<jos\xc3\xa9@dest.test>" {
		t.Errorf("%+v", m)
	}
}

func TestDeliverRejectsUnsafeAddresses(t *testing.T) {
	p := startPeer(t, "127.0.0.2", 0, server{}.serve)
	c := newClient(t, mxDNS("dest.test", p), p.addr.Port())
	j := job("dest.test", "x\n", "ok", "evil\r\nRCPT TO:<x@y>@dest.test", "other@elsewhere.test")
	res := c.Deliver(context.Background(), j)
	if codes(res) != "KDD" {
		t.Fatalf("%+v", res)
	}
	if strings.Contains(p.received(), "x@y") {
		t.Error("an address injected a command")
	}
	j = job("dest.test", "x\n", "ok")
	j.Sender = "a\x00b@x"
	if res := c.Deliver(context.Background(), j); codes(res) != "D" {
		t.Fatalf("control character in sender: %+v", res)
	}
}

func TestDeliverMailRejection(t *testing.T) {
	for _, tc := range []struct {
		reply, want string
		pipelining  bool
	}{
		{"553 5.7.1 sender rejected", "D", true},
		{"451 4.7.1 try later", "Z", true},
		{"553 5.7.1 sender rejected", "D", false},
	} {
		sv := server{mail: func(string) string { return tc.reply }}
		if !tc.pipelining {
			sv.ext = []string{}
		}
		p := startPeer(t, "127.0.0.2", 0, sv.serve)
		p2 := startPeer(t, "127.0.0.3", p.addr.Port(), server{}.serve)
		c := newClient(t, mxDNS("dest.test", p, p2), p.addr.Port())
		res := c.Deliver(context.Background(), job("dest.test", "x\n", "a", "b"))
		if codes(res) != tc.want+tc.want || !strings.Contains(res[0].Text, "sender was rejected./Remote host said: "+tc.reply) {
			t.Errorf("%s: %+v", tc.reply, res)
		}
		// qmail's rule: once a transaction started, no other MX is tried.
		if p2.conns() != 0 {
			t.Errorf("%s: next MX contacted after MAIL was answered", tc.reply)
		}
		if !tc.pipelining && strings.Contains(p.received(), "RCPT") {
			t.Errorf("RCPT sent after MAIL failed without pipelining")
		}
	}
}

func TestDeliverLargeRecipientListIsSplit(t *testing.T) {
	p := startPeer(t, "127.0.0.2", 0, server{}.serve)
	c := newClient(t, mxDNS("dest.test", p), p.addr.Port())
	c.IdleTimeout = 0 // default: reuse
	var rcpts []string
	for i := range 250 {
		rcpts = append(rcpts, "r"+strings.Repeat("x", i%5)+string(rune('a'+i%26))+"-"+itoa(i))
	}
	res := c.Deliver(context.Background(), job("dest.test", "x\n", rcpts...))
	if codes(res) != strings.Repeat("K", 250) {
		t.Fatalf("%s", codes(res))
	}
	m := p.messages()
	if len(m) != 3 || len(m[0].rcpts) != 100 || len(m[2].rcpts) != 50 {
		t.Errorf("%d transactions", len(m))
	}
	if p.conns() != 1 {
		t.Errorf("%d connections for one delivery, want 1 reused", p.conns())
	}
}

func itoa(i int) string {
	return strings.TrimLeft(string([]byte{byte('0' + i/100), byte('0' + i/10%10), byte('0' + i%10)}), "0")
}

func TestDeliverNullSenderAndLiteral(t *testing.T) {
	p := startPeer(t, "127.0.0.2", 0, server{}.serve)
	c := newClient(t, staticDNS{}, p.addr.Port())
	j := job("[127.0.0.2]", "bounce\n", "postmaster@[127.0.0.2]")
	j.Sender = ""
	res := c.Deliver(context.Background(), j)
	if codes(res) != "K" {
		t.Fatalf("%+v", res)
	}
	if m := p.messages(); len(m) != 1 || !strings.HasPrefix(m[0].mail, "FROM:<> ") || m[0].rcpts[0] != "TO:<postmaster@[127.0.0.2]>" {
		t.Errorf("%+v", m)
	}
	c.LocalAddrs = []netip.Addr{netip.MustParseAddr("127.0.0.2")}
	c2 := newClient(t, staticDNS{}, p.addr.Port())
	c2.LocalAddrs = c.LocalAddrs
	res = c2.Deliver(context.Background(), job("[127.0.0.2]", "x\n", "a@[127.0.0.2]"))
	if codes(res) != "D" || !strings.Contains(res[0].Text, "#5.4.6") {
		t.Errorf("literal of my own address: %+v", res)
	}
}

func TestDeliverRoutingFailures(t *testing.T) {
	dns := staticDNS{mx: map[string][]route.MX{"null.test": {{Host: ".", Pref: 0}}}}
	c := newClient(t, dns, 25)
	for _, tc := range []struct{ domain, code, text string }{
		{"null.test", "D", "#5.1.10"},
		{"nxdomain.test", "D", "#5.1.2"},
	} {
		res := c.Deliver(context.Background(), job(tc.domain, "x\n", "a"))
		if codes(res) != tc.code || !strings.Contains(res[0].Text, tc.text) || res[0].Host != "" {
			t.Errorf("%s: %+v", tc.domain, res)
		}
	}
	if proto.ResultSuccess != 'K' || proto.ResultDeferral != 'Z' || proto.ResultPermanent != 'D' {
		t.Fatal("result codes changed under us")
	}
}

func TestSMTPPath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "<>"},
		{"a@b.test", "<a@b.test>"},
		{"first.last+tag@b.test", "<first.last+tag@b.test>"},
		{"a b@b.test", `<"a b"@b.test>`},
		{`q"uo\te@b.test`, `<"q\"uo\\te"@b.test>`},
		{"x@y@b.test", `<"x@y"@b.test>`}, // split at the last '@', as qmail does
		{".dot@b.test", `<".dot"@b.test>`},
		{"a..b@b.test", `<"a..b"@b.test>`},
		{"jos\xc3\xa9@b.test", "<jos\xc3\xa9@b.test>"},
		{"postmaster", "<postmaster>"},
		{"a@[IPv6:::1]", "<a@[IPv6:::1]>"},
	} {
		if got := smtpPath(tc.in); got != tc.want {
			t.Errorf("%q: got %s, want %s", tc.in, got, tc.want)
		}
	}
}
