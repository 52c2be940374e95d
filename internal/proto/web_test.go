package proto

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"goqmail/internal/ipc"
)

func TestWebFramesRoundTrip(t *testing.T) {
	_, d, err := ipc.NewDecoder(OpenWeb{Login: "bob@example.com", Password: "pw", RemoteIP: "192.0.2.1"}.Packet(nil))
	if err != nil {
		t.Fatal(err)
	}
	if m, err := DecodeOpenWeb(d); err != nil || m.Login != "bob@example.com" || m.Password != "pw" {
		t.Fatalf("OpenWeb: %+v %v", m, err)
	}
	_, d, _ = ipc.NewDecoder(ChangePassword{Login: "bob@example.com", Old: "a", New: "b", RemoteIP: "::1"}.Packet(nil))
	if m, err := DecodeChangePassword(d); err != nil || m.Old != "a" || m.New != "b" {
		t.Fatalf("ChangePassword: %+v %v", m, err)
	}
	want := WebVerified{Verified: Verified{OK: true, User: "postmaster@example.com", Kind: KindVirtual,
		Owns: []string{"postmaster@example.com"}, Text: "authenticated"}, Role: RoleDomain, Domain: "example.com"}
	typ, d, _ := ipc.NewDecoder(want.Packet(nil))
	got, err := DecodeWebVerified(d)
	if typ != TWebVerified || err != nil || !reflect.DeepEqual(got, want) || got.Descriptors() != 2 {
		t.Fatalf("WebVerified: %+v %v", got, err)
	}
}

func TestWebFramesRefuseBadFields(t *testing.T) {
	bad := map[string][]byte{
		"NUL in password":       OpenWeb{Login: "bob", Password: "a\x00b", RemoteIP: "::1"}.Packet(nil),
		"empty login":           OpenWeb{Password: "pw", RemoteIP: "::1"}.Packet(nil),
		"empty new password":    ChangePassword{Login: "bob", Old: "a", RemoteIP: "::1"}.Packet(nil),
		"NUL in new password":   ChangePassword{Login: "bob", Old: "a", New: "\x00", RemoteIP: "::1"}.Packet(nil),
		"unknown role":          WebVerified{Verified: Verified{OK: true}, Role: "root"}.Packet(nil),
		"role in a failure":     WebVerified{Role: RoleSite}.Packet(nil),
		"domain role no domain": WebVerified{Verified: Verified{OK: true}, Role: RoleDomain}.Packet(nil),
		"site role with domain": WebVerified{Verified: Verified{OK: true}, Role: RoleSite, Domain: "example.com"}.Packet(nil),
		"ok and temporary":      WebVerified{Verified: Verified{OK: true, Temporary: true}}.Packet(nil),
	}
	for name, pkt := range bad {
		typ, d, err := ipc.NewDecoder(pkt)
		if err != nil {
			t.Fatal(err)
		}
		switch typ {
		case TOpenWeb:
			_, err = DecodeOpenWeb(d)
		case TChangePassword:
			_, err = DecodeChangePassword(d)
		case TWebVerified:
			_, err = DecodeWebVerified(d)
		}
		if !errors.Is(err, ErrBadField) {
			t.Errorf("%s: %v, want ErrBadField", name, err)
		}
	}
	// A login over the bound is refused before anything is kept.
	_, d, _ := ipc.NewDecoder(OpenWeb{Login: strings.Repeat("a", MaxLogin+1), Password: "pw"}.Packet(nil))
	if _, err := DecodeOpenWeb(d); err == nil {
		t.Error("over-long login accepted")
	}
	// Leftover bytes are an error.
	pkt := append(OpenWeb{Login: "bob", Password: "pw", RemoteIP: "::1"}.Packet(nil), 0)
	_, d, _ = ipc.NewDecoder(pkt)
	if _, err := DecodeOpenWeb(d); err == nil {
		t.Error("leftover byte accepted")
	}
}
