package dotqmail

import (
	"reflect"
	"sort"
	"testing"
	"time"
)

func TestEnv(t *testing.T) {
	d := Delivery{
		User: "joe", Home: "/home/joe", Local: "joe-list-Foo-bar", Ext: "list-Foo-bar",
		Domain: "mail.Example.test", Sender: "s@example.org", NewSender: "joe-list-owner@mail.Example.test",
		Default: "Foo-bar", HasDefault: true, Now: time.Date(2024, 3, 5, 9, 7, 3, 0, time.UTC),
	}
	want := []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"SENDER=s@example.org",
		"NEWSENDER=joe-list-owner@mail.Example.test",
		"RECIPIENT=joe-list-Foo-bar@mail.Example.test",
		"USER=joe",
		"HOME=/home/joe",
		"HOST=mail.Example.test",
		"HOST2=mail.Example",
		"HOST3=mail",
		"HOST4=mail",
		"LOCAL=joe-list-Foo-bar",
		"EXT=list-Foo-bar",
		"EXT2=Foo-bar",
		"EXT3=bar",
		"EXT4=",
		"DTLINE=Delivered-To: joe-list-Foo-bar@mail.Example.test\n",
		"RPLINE=Return-Path: <s@example.org>\n",
		"UFLINE=From s@example.org Tue Mar 05 09:07:03 2024\n",
		"DEFAULT=Foo-bar",
	}
	got := Env(d)
	sort.Strings(got)
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Env\n%q\nwant\n%q", got, want)
	}
	d.HasDefault = false
	for _, kv := range Env(d) {
		if len(kv) >= 8 && kv[:8] == "DEFAULT=" {
			t.Fatal("DEFAULT set without a -default match")
		}
	}
}

func TestEnvPieces(t *testing.T) {
	tests := []struct {
		host, h2, h3, h4 string
	}{
		{"a.b.c.d.e", "a.b.c.d", "a.b.c", "a.b"},
		{"example.test", "example", "example", "example"},
		{"localhost", "localhost", "localhost", "localhost"},
		{"", "", "", ""},
		{".x.", ".x", "", ""},
	}
	for _, tt := range tests {
		got := []string{hostBefore(tt.host, 1), hostBefore(tt.host, 2), hostBefore(tt.host, 3)}
		if !reflect.DeepEqual(got, []string{tt.h2, tt.h3, tt.h4}) {
			t.Errorf("HOST2-4 of %q = %q", tt.host, got)
		}
	}
	exts := []struct{ ext, e2, e3, e4 string }{
		{"a-b-c-d", "b-c-d", "c-d", "d"},
		{"a", "", "", ""},
		{"", "", "", ""},
		{"a--b", "-b", "b", ""},
		{"-", "", "", ""},
	}
	for _, tt := range exts {
		got := []string{extAfter(tt.ext, 1), extAfter(tt.ext, 2), extAfter(tt.ext, 3)}
		if !reflect.DeepEqual(got, []string{tt.e2, tt.e3, tt.e4}) {
			t.Errorf("EXT2-4 of %q = %q", tt.ext, got)
		}
	}
}

func TestLines(t *testing.T) {
	now := time.Date(2024, 3, 5, 9, 7, 3, 0, time.UTC)
	tests := []struct{ sender, rp, uf string }{
		{"a@b.c", "Return-Path: <a@b.c>\n", "From a@b.c Tue Mar 05 09:07:03 2024\n"},
		{"", "Return-Path: <>\n", "From MAILER-DAEMON Tue Mar 05 09:07:03 2024\n"},
		{"#@[]", "Return-Path: <#@[]>\n", "From #@[] Tue Mar 05 09:07:03 2024\n"},
		{"john doe@x", "Return-Path: <\"john doe\"@x>\n", "From john-doe@x Tue Mar 05 09:07:03 2024\n"},
		{"a\"b@x", "Return-Path: <\"a\\\"b\"@x>\n", "From a\"b@x Tue Mar 05 09:07:03 2024\n"},
		{"a@b@x", "Return-Path: <\"a@b\"@x>\n", "From a@b@x Tue Mar 05 09:07:03 2024\n"},
		{"nodomain", "Return-Path: <nodomain>\n", "From nodomain Tue Mar 05 09:07:03 2024\n"},
	}
	for _, tt := range tests {
		d := Delivery{Sender: tt.sender, Local: "u", Domain: "d", Now: now}
		if d.RPLine() != tt.rp || d.UFLine() != tt.uf {
			t.Errorf("sender %q: %q %q", tt.sender, d.RPLine(), d.UFLine())
		}
	}
	d := Delivery{Local: "a\nb", Domain: "x"}
	if d.DTLine() != "Delivered-To: a_b@x\n" {
		t.Errorf("DTLine %q", d.DTLine())
	}
}

func TestNewSender(t *testing.T) {
	tests := []struct {
		sender string
		owner  bool
		want   string
	}{
		{"s@x", false, "s@x"},
		{"s@x", true, "joe-list-owner@d.test"},
		{"", true, ""},
		{"#@[]", true, "#@[]"},
	}
	for _, tt := range tests {
		if got := NewSender(tt.sender, "joe-list", "d.test", tt.owner); got != tt.want {
			t.Errorf("NewSender(%q, %v) = %q, want %q", tt.sender, tt.owner, got, tt.want)
		}
	}
}
