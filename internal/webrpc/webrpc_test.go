package webrpc

import (
	"bytes"
	"context"
	"errors"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"goqmail/internal/ipc"
)

func TestRoundTrip(t *testing.T) {
	a, b := net.Pipe()
	done := make(chan error, 1)
	big := bytes.Repeat([]byte("0123456789abcdef"), 200000) // 3.2 MB: several chunks
	var seen *Request
	go func() {
		done <- Serve(b, 0, func(r *Request) *Response {
			seen = &Request{Op: r.Op, Args: append([]string(nil), r.Args...)}
			for _, f := range r.Files {
				seen.Files = append(seen.Files, File{f.Name, f.Type, append([]byte(nil), f.Data...)})
			}
			rows := [][]string{{"a", "b"}, {}, {"", strings.Repeat("x", 300000)}}
			for i := 0; i < 5000; i++ {
				rows = append(rows, []string{"row", strings.Repeat("y", i%50)})
			}
			return &Response{Status: OK, Text: "done", Rows: rows, Blob: big}
		})
	}()
	c := NewClient(a)
	req := &Request{Op: "send", Args: []string{"x", "", "ünïcode"}, Files: []File{{"a.txt", "text/plain", []byte("hello")}, {"big.bin", "application/octet-stream", big}, {"empty", "", nil}}}
	resp, err := c.Call(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != OK || resp.Text != "done" || !bytes.Equal(resp.Blob, big) || len(resp.Rows) != 5003 {
		t.Fatalf("response: status %v text %q blob %d rows %d", resp.Status, resp.Text, len(resp.Blob), len(resp.Rows))
	}
	if len(resp.Rows[1]) != 0 || resp.Rows[2][1] != strings.Repeat("x", 300000) || resp.Rows[5002][1] != strings.Repeat("y", 4999%50) {
		t.Fatalf("rows differ")
	}
	if seen.Op != "send" || !reflect.DeepEqual(seen.Args, req.Args) || len(seen.Files) != 3 ||
		!bytes.Equal(seen.Files[1].Data, big) || seen.Files[0].Name != "a.txt" || len(seen.Files[2].Data) != 0 {
		t.Fatalf("request differs: %+v", seen.Args)
	}
	// A second call on the same connection works.
	if _, err := c.Call(context.Background(), &Request{Op: "again"}); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := <-done; err != nil {
		t.Fatalf("Serve after a clean close: %v", err)
	}
	if _, err := c.Call(context.Background(), &Request{Op: "x"}); err == nil {
		t.Fatal("a closed client still calls")
	}
}

// A malformed frame ends Serve with ErrProtocol, whatever the handler.
func TestServeRejectsMalformed(t *testing.T) {
	cases := map[string][]byte{
		"wrong type":      ipc.New(tResponse, nil).Uint(0).String("").Uint(0).Uint(0).Frame(),
		"trailing bytes":  ipc.New(tRequest, nil).String("op").Uint(0).Uint(0).Uint(7).Frame(),
		"too many args":   ipc.New(tRequest, nil).String("op").Uint(MaxArgs + 1).Frame(),
		"huge file":       ipc.New(tRequest, nil).String("op").Uint(0).Uint(1).String("n").String("t").Uint(MaxBlob + 1).Frame(),
		"files too large": ipc.New(tRequest, nil).String("op").Uint(0).Uint(2).String("n").String("t").Uint(MaxBlob / 2).String("n").String("t").Uint(MaxBlob/2 + 1).Frame(),
	}
	for name, frame := range cases {
		a, b := net.Pipe()
		done := make(chan error, 1)
		called := false
		go func() { done <- Serve(b, 0, func(*Request) *Response { called = true; return &Response{} }) }()
		a.Write(frame)
		select {
		case err := <-done:
			if !errors.Is(err, ErrProtocol) {
				t.Errorf("%s: Serve returned %v, want ErrProtocol", name, err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("%s: Serve did not stop", name)
		}
		if called {
			t.Errorf("%s: handler called", name)
		}
		a.Close()
	}
}

// A file announced but cut short is an error, not a short file.
func TestTruncatedFile(t *testing.T) {
	a, b := net.Pipe()
	done := make(chan error, 1)
	go func() { done <- Serve(b, 0, func(*Request) *Response { return &Response{} }) }()
	a.Write(ipc.New(tRequest, nil).String("op").Uint(0).Uint(1).String("n").String("t").Uint(10).Frame())
	a.Write(ipc.New(tChunk, nil).Bytes([]byte("12345")).Frame())
	a.Close()
	if err := <-done; !errors.Is(err, ErrProtocol) {
		t.Fatalf("Serve: %v, want ErrProtocol", err)
	}
}

// An idle session ends by itself.
func TestIdleTimeout(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	done := make(chan error, 1)
	go func() { done <- Serve(b, 50*time.Millisecond, func(*Request) *Response { return &Response{} }) }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("idle Serve returned nil, want a timeout")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("idle Serve did not stop")
	}
}

// A response from a broken session breaks the client for good.
func TestClientBrokenByGarbage(t *testing.T) {
	a, b := net.Pipe()
	go func() {
		rd := ipc.NewReader(b, 0)
		ReadRequest(rd)
		b.Write(ipc.New(tRequest, nil).String("op").Uint(0).Uint(0).Frame())
	}()
	c := NewClient(a)
	if _, err := c.Call(context.Background(), &Request{Op: "x"}); !errors.Is(err, ErrProtocol) {
		t.Fatalf("Call: %v, want ErrProtocol", err)
	}
	if c.Broken() == nil {
		t.Fatal("client not broken")
	}
}

// A request larger than the reader takes (one argument over MaxArg, all
// of them over a frame, a file name over MaxFileName) is ErrTooLarge,
// nothing is sent, and the same client and session go on. Before, the
// frame was written and the session exited on it (security review of
// issue 15: a 2 MiB compose text logged the user out).
func TestCallTooLargeKeepsSession(t *testing.T) {
	a, b := net.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- Serve(b, 0, func(r *Request) *Response { return &Response{Text: r.Op} })
	}()
	c := NewClient(a)
	for name, req := range map[string]*Request{
		"argument": {Op: "send", Args: []string{strings.Repeat("a", MaxArg+1)}},
		"frame":    {Op: "send", Args: []string{strings.Repeat("a", MaxArg/2), strings.Repeat("b", MaxArg/2+10)}},
		"filename": {Op: "send", Files: []File{{Name: strings.Repeat("n", MaxFileName+1), Data: []byte("x")}}},
	} {
		if _, err := c.Call(context.Background(), req); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: Call: %v, want ErrTooLarge", name, err)
		}
		if err := c.Broken(); err != nil {
			t.Fatalf("%s: the client is broken: %v", name, err)
		}
		resp, err := c.Call(context.Background(), &Request{Op: "after"})
		if err != nil || resp.Text != "after" {
			t.Fatalf("%s: the next call: %v %+v", name, err, resp)
		}
	}
	c.Close()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

// Close does not wait for a call in flight: the connection is closed at
// once, the call fails, and the session's next read is EOF. Before, Close
// took the call's lock and so waited for it (a logout during a body
// search of a large folder, up to DefaultCallTimeout; security review of
// issue 15).
func TestCloseDuringCall(t *testing.T) {
	a, b := net.Pipe()
	started, release := make(chan struct{}), make(chan struct{})
	served := make(chan error, 1)
	go func() {
		served <- Serve(b, 0, func(r *Request) *Response {
			close(started)
			<-release // a long search
			return &Response{Text: "late"}
		})
	}()
	c := NewClient(a)
	called := make(chan error, 1)
	go func() {
		_, err := c.Call(context.Background(), &Request{Op: "list"})
		called <- err
	}()
	<-started
	closed := make(chan struct{})
	go func() { c.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		close(release)
		t.Fatal("Close waited for the call in flight")
	}
	if err := <-called; err == nil {
		t.Error("the call in flight succeeded after Close")
	}
	if c.Broken() == nil {
		t.Error("a closed client is not broken")
	}
	if _, err := c.Call(context.Background(), &Request{Op: "x"}); err == nil {
		t.Error("a closed client still calls")
	}
	close(release)
	<-served // the session ends once its handler returns
}
