package authd

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"goqmail/internal/ipc"
	"goqmail/internal/proto"
)

// FuzzAuthFrames feeds arbitrary packets to the decoders the auth service
// and its clients use. Whatever decodes must re-encode to the same bytes
// to a frame that decodes to the same value (varints may be spelled
// non-minimally, so bytes may differ), and respect the field rules the
// backends rely on: no NUL in login or password (checkpassword's fd 3
// format), an APOP digest of 32 hex digits.
func FuzzAuthFrames(f *testing.F) {
	f.Add(proto.Verify{Service: "smtp", Login: "bob@example.com", Password: "pw", RemoteIP: "192.0.2.1"}.Packet(nil))
	f.Add(proto.APOP{Login: "bob", Timestamp: "<1.2@x>", Digest: strings.Repeat("a", 32), RemoteIP: "::1"}.Packet(nil))
	f.Add(proto.OpenMailbox{Login: "bob", Password: "pw", RemoteIP: "192.0.2.1"}.Packet(nil))
	f.Add(proto.Verified{OK: true, User: "bob@example.com", Kind: "virtual", Owns: []string{"a@b", "c@d"}, Text: "ok"}.Packet(nil))
	f.Add([]byte{1, 0x53, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x0f})
	f.Add(proto.OpenWeb{Login: "bob@example.com", Password: "pw", RemoteIP: "192.0.2.1"}.Packet(nil))
	f.Add(proto.ChangePassword{Login: "bob@example.com", Old: "pw", New: "new", RemoteIP: "::1"}.Packet(nil))
	f.Add(proto.WebVerified{Verified: proto.Verified{OK: true, User: "postmaster@example.com", Kind: "virtual", Text: "ok"},
		Role: proto.RoleDomain, Domain: "example.com"}.Packet(nil))
	f.Add(proto.WebVerified{Verified: proto.Verified{Text: "no"}}.Packet(nil))
	f.Fuzz(func(t *testing.T, body []byte) {
		typ, d, err := ipc.NewDecoder(body)
		if err != nil {
			return
		}
		var m, m2 any
		var again []byte
		switch typ {
		case proto.TVerify:
			v, err := proto.DecodeVerify(d)
			if err != nil {
				return
			}
			if strings.ContainsRune(v.Login+v.Password, 0) {
				t.Fatalf("NUL accepted: %q", v)
			}
			m, again = v, v.Packet(nil)
			_, d2, _ := ipc.NewDecoder(again)
			m2, err = proto.DecodeVerify(d2)
			if err != nil {
				t.Fatal(err)
			}
		case proto.TAPOP:
			v, err := proto.DecodeAPOP(d)
			if err != nil {
				return
			}
			if len(v.Digest) != 32 || strings.ContainsRune(v.Login+v.Timestamp, 0) {
				t.Fatalf("bad APOP accepted: %q", v)
			}
			m, again = v, v.Packet(nil)
			_, d2, _ := ipc.NewDecoder(again)
			m2, err = proto.DecodeAPOP(d2)
			if err != nil {
				t.Fatal(err)
			}
		case proto.TOpenMailbox:
			v, err := proto.DecodeOpenMailbox(d)
			if err != nil {
				return
			}
			if v.IsAPOP() && v.Password != "" {
				t.Fatalf("APOP with password accepted: %q", v)
			}
			m, again = v, v.Packet(nil)
			_, d2, _ := ipc.NewDecoder(again)
			m2, err = proto.DecodeOpenMailbox(d2)
			if err != nil {
				t.Fatal(err)
			}
		case proto.TVerified:
			v, err := proto.DecodeVerified(d)
			if err != nil {
				return
			}
			if v.OK && v.Temporary {
				t.Fatal("ok and temporary accepted")
			}
			m, again = v, v.Packet(nil)
			_, d2, _ := ipc.NewDecoder(again)
			m2, err = proto.DecodeVerified(d2)
			if err != nil {
				t.Fatal(err)
			}
		case proto.TOpenWeb:
			v, err := proto.DecodeOpenWeb(d)
			if err != nil {
				return
			}
			if strings.ContainsRune(v.Login+v.Password, 0) || v.Login == "" {
				t.Fatalf("bad OpenWeb accepted: %q", v)
			}
			m, again = v, v.Packet(nil)
			_, d2, _ := ipc.NewDecoder(again)
			m2, err = proto.DecodeOpenWeb(d2)
			if err != nil {
				t.Fatal(err)
			}
		case proto.TChangePassword:
			v, err := proto.DecodeChangePassword(d)
			if err != nil {
				return
			}
			if strings.ContainsRune(v.Login+v.Old+v.New, 0) || v.New == "" {
				t.Fatalf("bad ChangePassword accepted: %q", v)
			}
			m, again = v, v.Packet(nil)
			_, d2, _ := ipc.NewDecoder(again)
			m2, err = proto.DecodeChangePassword(d2)
			if err != nil {
				t.Fatal(err)
			}
		case proto.TWebVerified:
			v, err := proto.DecodeWebVerified(d)
			if err != nil {
				return
			}
			if (v.Role != "" && !v.OK) || (v.Role == proto.RoleDomain) != (v.Domain != "") {
				t.Fatalf("bad WebVerified accepted: %+v", v)
			}
			m, again = v, v.Packet(nil)
			_, d2, _ := ipc.NewDecoder(again)
			m2, err = proto.DecodeWebVerified(d2)
			if err != nil {
				t.Fatal(err)
			}
		default:
			return
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("round trip changed the value:\n%+v\n%+v", m, m2)
		}
		if len(again) > len(body) {
			t.Fatalf("re-encoding grew: %d > %d bytes", len(again), len(body))
		}
	})
}

// FuzzShadowRequest: the helper's stdin parser accepts exactly
// "user\0password\0" and gives back what was framed.
func FuzzShadowRequest(f *testing.F) {
	f.Add([]byte("bob\x00pw\x00"))
	f.Add([]byte("bob\x00pw"))
	f.Add([]byte("\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, in []byte) {
		u, p, ok := parseShadowRequest(bytes.NewReader(in))
		if !ok {
			return
		}
		if u+"\x00"+p+"\x00" != string(in) {
			t.Fatalf("parsed %q as %q, %q", in, u, p)
		}
	})
}

// FuzzFindShadow: a shadow file never yields a hash for a name it does not
// hold on a line of its own.
func FuzzFindShadow(f *testing.F) {
	f.Add([]byte("ok:$6$x$y:1:::::5:\nroot:*:::::::\n"), "ok")
	f.Add([]byte("a:b"), "a")
	f.Fuzz(func(t *testing.T, data []byte, user string) {
		hash, _, found := findShadow(data, user)
		if !found {
			return
		}
		if !bytes.Contains(data, []byte(user+":"+hash)) {
			t.Fatalf("found %q for %q in %q", hash, user, data)
		}
	})
}
