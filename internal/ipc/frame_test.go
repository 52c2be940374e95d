package ipc

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	var stream bytes.Buffer
	stream.Write(New(7, nil).Uint(42).Int(-5).Bool(true).String("hello").Bytes([]byte{0, 1}).Frame())
	stream.Write(New(8, nil).Frame())
	r := NewReader(&stream, 0)
	typ, d, err := r.Next()
	if err != nil || typ != 7 {
		t.Fatalf("Next = %d, %v", typ, err)
	}
	if v := d.Uint(); v != 42 {
		t.Errorf("Uint = %d", v)
	}
	if v := d.Int(); v != -5 {
		t.Errorf("Int = %d", v)
	}
	if !d.Bool() {
		t.Error("Bool = false")
	}
	if s := d.String(10); s != "hello" {
		t.Errorf("String = %q", s)
	}
	if b := d.Bytes(2); !bytes.Equal(b, []byte{0, 1}) {
		t.Errorf("Bytes = %v", b)
	}
	if err := d.End(); err != nil {
		t.Errorf("End = %v", err)
	}
	typ, d, err = r.Next()
	if err != nil || typ != 8 || d.End() != nil {
		t.Fatalf("second frame: %d %v", typ, err)
	}
	if _, _, err := r.Next(); err != io.EOF {
		t.Fatalf("after last frame: %v, want EOF", err)
	}
}

func TestStrictDecoding(t *testing.T) {
	body := New(1, nil).String("abc").Uint(3).Body()
	_, d, _ := NewDecoder(body)
	d.String(10)
	if err := d.End(); !errors.Is(err, ErrTrailing) {
		t.Errorf("leftover field: End = %v, want ErrTrailing", err)
	}
	_, d, _ = NewDecoder(body)
	d.String(2)
	if err := d.End(); !errors.Is(err, ErrTooLong) {
		t.Errorf("over-long field: End = %v, want ErrTooLong", err)
	}
	_, d, _ = NewDecoder(body)
	d.String(10)
	d.Uint()
	d.Uint()
	if err := d.End(); !errors.Is(err, ErrShort) {
		t.Errorf("missing field: End = %v, want ErrShort", err)
	}
	bad := append([]byte(nil), body...)
	bad[0] = 9
	if _, _, err := NewDecoder(bad); !errors.Is(err, ErrVersion) {
		t.Errorf("version 9: %v", err)
	}
	_, d, _ = NewDecoder(New(1, nil).Uint(2).Body())
	d.Bool()
	if d.Err() == nil {
		t.Error("Bool accepted 2")
	}
}

func TestReaderRejectsHugeAndTruncatedFrames(t *testing.T) {
	r := NewReader(bytes.NewReader([]byte{0x7f, 0, 0, 0}), 100)
	if _, _, err := r.Next(); !errors.Is(err, ErrTooLong) {
		t.Errorf("huge frame: %v", err)
	}
	f := New(1, nil).String("abcdef").Frame()
	r = NewReader(bytes.NewReader(f[:len(f)-2]), 0)
	if _, _, err := r.Next(); !errors.Is(err, ErrShort) {
		t.Errorf("truncated frame: %v", err)
	}
}

func TestPacketWithDescriptor(t *testing.T) {
	a, b, err := SeqpacketPair()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	tmp, err := os.CreateTemp(t.TempDir(), "x")
	if err != nil {
		t.Fatal(err)
	}
	tmp.WriteString("content")
	if err := SendPacket(int(a.Fd()), New(3, nil).String("hi").Body(), tmp); err != nil {
		t.Fatal(err)
	}
	tmp.Close()
	body, files, err := RecvPacket(int(b.Fd()), make([]byte, 4096), 1)
	if err != nil {
		t.Fatal(err)
	}
	typ, d, err := NewDecoder(body)
	if err != nil || typ != 3 || d.String(10) != "hi" || d.End() != nil {
		t.Fatalf("packet decode: %d %v", typ, err)
	}
	if len(files) != 1 {
		t.Fatalf("%d files", len(files))
	}
	got := make([]byte, 7)
	if _, err := files[0].ReadAt(got, 0); err != nil || string(got) != "content" {
		t.Fatalf("passed file reads %q, %v", got, err)
	}
	files[0].Close()
	a.Close()
	if _, _, err := RecvPacket(int(b.Fd()), make([]byte, 10), 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}

func FuzzDecoder(f *testing.F) {
	f.Add(New(1, nil).String("abc").Uint(7).Body())
	f.Add([]byte{1, 2, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, body []byte) {
		_, d, err := NewDecoder(body)
		if err != nil {
			return
		}
		for i := 0; i < 8 && d.Err() == nil; i++ {
			if s := d.Bytes(16); len(s) > 16 {
				t.Fatalf("Bytes returned %d > 16", len(s))
			}
		}
		_ = d.End()
	})
}
