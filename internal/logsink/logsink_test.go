package logsink

import (
	"encoding/binary"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// listen is a datagram socket standing in for journald or syslogd.
func listen(t *testing.T) (string, *net.UnixConn) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return path, c
}

func receive(t *testing.T, c *net.UnixConn) []byte {
	t.Helper()
	buf := make([]byte, 65536)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf[:n]
}

// parseNative decodes a native-protocol datagram the way journald does.
func parseNative(t *testing.T, b []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	for len(b) > 0 {
		nl := strings.IndexByte(string(b), '\n')
		if nl < 0 {
			t.Fatalf("field without newline: %q", b)
		}
		line := string(b[:nl])
		if name, value, ok := strings.Cut(line, "="); ok {
			out[name] = value
			b = b[nl+1:]
			continue
		}
		b = b[nl+1:]
		n := binary.LittleEndian.Uint64(b)
		out[line] = string(b[8 : 8+n])
		if b[8+n] != '\n' {
			t.Fatalf("binary field %s not ended by a newline", line)
		}
		b = b[8+n+1:]
	}
	return out
}

func TestJournalNativeProtocol(t *testing.T) {
	path, srv := listen(t)
	j, err := DialJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	msg := "2026-01-26T01:02:03.000000Z send: new msg 18ebb2eb4a47baed"
	if err := j.Send(Entry{Ident: "goqmail-send", Priority: PriInfo, Message: msg,
		Fields: []Field{{"GOQMAIL_QUEUE_ID", "18ebb2eb4a47baed"}, {"_PID", "1"}, {"bad name", "x"}, {"MULTI", "a\nb"}}}); err != nil {
		t.Fatal(err)
	}
	got := parseNative(t, receive(t, srv))
	want := map[string]string{"MESSAGE": msg, "PRIORITY": "6", "SYSLOG_FACILITY": "2", "SYSLOG_IDENTIFIER": "goqmail-send",
		"GOQMAIL_QUEUE_ID": "18ebb2eb4a47baed", "MULTI": "a\nb"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("fields %v: a trusted (_PID) or malformed field name went through", got)
	}
}

func TestSyslogTraditionalFormat(t *testing.T) {
	path, srv := listen(t)
	s, err := DialSyslog(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.now = func() time.Time { return time.Date(2026, 1, 6, 1, 2, 3, 0, time.Local) }
	if err := s.Send(Entry{Ident: "goqmail-smtpd", Priority: PriWarning, Message: "x smtpd: warning: y"}); err != nil {
		t.Fatal(err)
	}
	// mail.warning is 2*8+4 = 20; the day is padded with a space.
	if got, want := string(receive(t, srv)), "<20>Jan  6 01:02:03 goqmail-smtpd: x smtpd: warning: y"; got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestDialFailsOnMissingSocket(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none")
	if _, err := DialJournal(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("DialJournal: %v", err)
	}
	if _, err := DialSyslog(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("DialSyslog: %v", err)
	}
}
