package mailauth

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func TestAuthServID(t *testing.T) {
	for _, c := range []struct{ value, want string }{
		{" mx.example.org; spf=pass", "mx.example.org"},
		{"mx.example.org 1; none", "mx.example.org"},
		{" (forged) mx.example.org;", "mx.example.org"},
		{" (a (nested) comment)\n\t\"mx.example.org\"; dkim=pass", "mx.example.org"},
		{` "mx.ex\ample.org"`, "mx.example.org"},
		{"mx.example.org(c); none", "mx.example.org"},
		{" ; spf=pass", ""},
		{"", ""},
	} {
		if got := AuthServID(c.value); got != c.want {
			t.Errorf("AuthServID(%q) = %q, want %q", c.value, got, c.want)
		}
	}
	if !ClaimsID([]byte("authentication-results : MX.Example.ORG.; dkim=pass\n"), "mx.example.org") {
		t.Error("a differently cased id with a root dot is still ours")
	}
	if ClaimsID([]byte("Authentication-Results: other.example; dkim=pass\n"), "mx.example.org") {
		t.Error("another host's field is not ours")
	}
	if ClaimsID([]byte("X-Authentication-Results: mx.example.org; dkim=pass\n"), "mx.example.org") {
		t.Error("only Authentication-Results fields")
	}
}

func TestHeaderCaptureAcrossWrites(t *testing.T) {
	msg := "From: a@example.org\nSubject: x\n\nbody\n\nmore\n"
	for split := 0; split <= len(msg); split++ {
		var h headerCapture
		h.Write([]byte(msg[:split]))
		h.Write([]byte(msg[split:]))
		if got := string(h.buf); got != "From: a@example.org\nSubject: x\n" || !h.done {
			t.Fatalf("split %d: %q done=%v", split, got, h.done)
		}
	}
	var h headerCapture
	h.Write([]byte(strings.Repeat("X: y\n", MaxHeader)))
	if len(h.buf) != MaxHeader || !h.full {
		t.Errorf("a huge header is kept to %d bytes, got %d", MaxHeader, len(h.buf))
	}
}

func TestFromDomains(t *testing.T) {
	for _, c := range []struct{ header, want string }{
		{"From: Ann <ann@Example.ORG>\n", "example.org"},
		{"Subject: x\nFROM: a@one.example, b@two.example\n", "one.example two.example"},
		{"From: a@one.example\nFrom: b@one.example\n", "one.example"},
		{"From: broken <<a@evil.example\n", "evil.example"},
		{"From: a@one.example,\n b@two.example\n", "one.example two.example"},
		{"Subject: none\n", ""},
	} {
		if got := strings.Join(FromDomains([]byte(c.header)), " "); got != c.want {
			t.Errorf("FromDomains(%q) = %q, want %q", c.header, got, c.want)
		}
	}
}

func TestElasticPipeCarriesEverything(t *testing.T) {
	p := newElasticPipe(7)
	want := bytes.Repeat([]byte("0123456789abcdef"), 1000)
	done := make(chan []byte)
	go func() {
		got, _ := io.ReadAll(p)
		done <- got
	}()
	for i := 0; i < len(want); i += 13 {
		p.Write(want[i:min(i+13, len(want))])
	}
	p.closeWrite(io.EOF)
	if got := <-done; !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes, want %d", len(got), len(want))
	}
	// A reader that stopped never blocks the writer.
	p = newElasticPipe(4)
	p.closeRead()
	if n, err := p.Write(want); n != len(want) || err != nil {
		t.Fatalf("write after the reader left: %d, %v", n, err)
	}
}
