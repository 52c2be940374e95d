package proto

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"goqmail/internal/ipc"
)

func decode(t *testing.T, frame []byte) (byte, *ipc.Decoder) {
	t.Helper()
	typ, d, err := ipc.NewReader(bytes.NewReader(frame), 0).Next()
	if err != nil {
		t.Fatal(err)
	}
	return typ, d
}

func TestRoundTrips(t *testing.T) {
	typ, d := decode(t, Msg{ID: "0a1b", Birth: 5, Size: 7, UID: 1000, QP: 42, Sender: "a@b", NRcpt: 3}.Encode(nil))
	m, err := DecodeMsg(d)
	if typ != TMsg || err != nil || m.ID != "0a1b" || m.NRcpt != 3 || m.Sender != "a@b" || m.QP != 42 {
		t.Fatalf("Msg: %+v %v", m, err)
	}
	_, d = decode(t, Update{ID: "ff", Index: 2, State: StateFailed, RetryAt: -1, Text: "no"}.Encode(nil))
	u, err := DecodeUpdate(d)
	if err != nil || u.Index != 2 || u.State != StateFailed || u.RetryAt != -1 {
		t.Fatalf("Update: %+v %v", u, err)
	}
	_, d = decode(t, Report{Seq: 9, Result: ResultDeferral, Text: "a\nb"}.Encode(nil))
	r, err := DecodeReport(d)
	if err != nil || r.Text != "a/b" || r.Result != ResultDeferral {
		t.Fatalf("Report: %+v %v", r, err)
	}
	_, dl, _ := ipc.NewDecoder(Local{Seq: 1, User: "u", Home: "/h", Local: "u", Domain: "d", Sender: "", ProgramTimeout: 600}.Packet(nil))
	if l, err := DecodeLocal(dl); err != nil || l.Home != "/h" || l.ProgramTimeout != 600 {
		t.Fatalf("Local: %+v %v", l, err)
	}
}

func TestRejectsBadFields(t *testing.T) {
	_, d := decode(t, Rcpt{Addr: "a\r\n@b"}.Encode(nil))
	if _, err := DecodeRcpt(d); !errors.Is(err, ErrBadField) {
		t.Errorf("CRLF in recipient: %v", err)
	}
	_, d = decode(t, Deliver{ID: "../etc", Rcpt: "a@b"}.Encode(nil))
	if _, err := DecodeDeliver(d); !errors.Is(err, ErrBadField) {
		t.Errorf("path-like id: %v", err)
	}
	_, d = decode(t, Report{Seq: 1, Result: 'X'}.Encode(nil))
	if _, err := DecodeReport(d); !errors.Is(err, ErrBadField) {
		t.Errorf("result X: %v", err)
	}
	_, dl, _ := ipc.NewDecoder(Local{Home: "rel", Local: "u"}.Packet(nil))
	if _, err := DecodeLocal(dl); !errors.Is(err, ErrBadField) {
		t.Errorf("relative home: %v", err)
	}
	for _, bad := range []int64{-1, MaxProgramTimeout + 1} {
		_, dl, _ = ipc.NewDecoder(Local{Home: "/h", Local: "u", ProgramTimeout: bad}.Packet(nil))
		if _, err := DecodeLocal(dl); !errors.Is(err, ErrBadField) {
			t.Errorf("program timeout %d: %v", bad, err)
		}
	}
	long := string(bytes.Repeat([]byte("a"), MaxAddr+1))
	if err := CheckAddr(long); !errors.Is(err, ErrBadField) {
		t.Errorf("long address: %v", err)
	}
	_, d = decode(t, ipc.New(TBegin, nil).String(long).Frame())
	if _, err := DecodeBegin(d); err == nil {
		t.Error("over-long sender accepted")
	}
}

// A report full of invalid UTF-8 stays within MaxText and still decodes.
func TestCleanTextBoundedForInvalidUTF8(t *testing.T) {
	in := strings.Repeat("\xff\n", MaxText)
	out := CleanText(in)
	if len(out) != MaxText || strings.ContainsAny(out, "\x00\r\n") {
		t.Fatalf("len %d, want %d, clean %v", len(out), MaxText, !strings.ContainsAny(out, "\x00\r\n"))
	}
	typ, d, err := ipc.NewDecoder(Report{Seq: 1, Result: ResultDeferral, Text: in}.Packet(nil))
	if err != nil || typ != TReport {
		t.Fatal(typ, err)
	}
	if _, err := DecodeReport(d); err != nil {
		t.Fatalf("a cleaned report does not decode: %v", err)
	}
}
