package pop3

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Three messages, oldest first: one in cur/ with flags, two in new/.
const (
	msgA = "Subject: a\n\nline one\n.dot line\nlast\n" // 5 lines
	msgB = "Subject: b\r\nX: y\r\n\r\nbody b\r\n"      // CRLF file
	msgC = "Subject: c\n\n1\n2\n3\nno final newline"   // no trailing LF
	uidA = "1000.M1P1.host"
	uidB = "1001.M2P2.host"
	uidC = "1002.M3P3.host"
)

func fixture(t *testing.T) string {
	md := newMaildir(t)
	put(t, md, "cur", uidA+":2,F", msgA, 3*time.Hour)
	put(t, md, "new", uidB, msgB, 2*time.Hour)
	put(t, md, "new", uidC, msgC, time.Hour)
	return md
}

// crlfLen is the size POP3 must announce: LF-only lines count one more.
func crlfLen(s string) int {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return len(s) + strings.Count(s, "\n")
}

func TestSessionDialog(t *testing.T) {
	p, done := startSession(t, fixture(t))
	p.expect("+OK 3 messages")
	sizes := []int{crlfLen(msgA), crlfLen(msgB), crlfLen(msgC)}
	total := sizes[0] + sizes[1] + sizes[2]
	steps := []struct {
		cmd   string
		reply string
		body  []string // nil: single-line reply
	}{
		{"STAT", "+OK 3 " + strconv.Itoa(total), nil},
		{"LIST", "+OK", []string{"1 " + strconv.Itoa(sizes[0]), "2 " + strconv.Itoa(sizes[1]), "3 " + strconv.Itoa(sizes[2])}},
		{"list 2", "+OK 2 " + strconv.Itoa(sizes[1]), nil},
		{"LIST 4", "-ERR no such message", nil},
		{"LIST 0", "-ERR no such message", nil},
		{"LIST x", "-ERR no such message", nil},
		{"LIST 1 2", "-ERR LIST needs 1 argument(s)", nil},
		{"UIDL", "+OK", []string{"1 " + uidA, "2 " + uidB, "3 " + uidC}},
		{"UIDL 3", "+OK 3 " + uidC, nil},
		{"RETR 1", "+OK " + strconv.Itoa(sizes[0]) + " octets", []string{"Subject: a", "", "line one", "..dot line", "last"}},
		{"RETR 3", "+OK " + strconv.Itoa(sizes[2]) + " octets", []string{"Subject: c", "", "1", "2", "3", "no final newline"}},
		{"RETR", "-ERR RETR needs 1 argument(s)", nil},
		{"RETR -1", "-ERR no such message", nil},
		{"TOP 3 2", "+OK", []string{"Subject: c", "", "1", "2"}},
		{"TOP 2 0", "+OK", []string{"Subject: b", "X: y", ""}},
		{"TOP 1 99", "+OK", []string{"Subject: a", "", "line one", "..dot line", "last"}},
		{"TOP 1", "-ERR TOP needs 2 argument(s)", nil},
		{"TOP 1 x", "-ERR bad line count", nil},
		{"DELE 2", "+OK message 2 deleted", nil},
		{"DELE 2", "-ERR no such message", nil},
		{"RETR 2", "-ERR no such message", nil},
		{"STAT", "+OK 2 " + strconv.Itoa(sizes[0]+sizes[2]), nil},
		{"LIST", "+OK", []string{"1 " + strconv.Itoa(sizes[0]), "3 " + strconv.Itoa(sizes[2])}},
		{"RSET", "+OK", nil},
		{"STAT", "+OK 3 " + strconv.Itoa(total), nil},
		{"NOOP", "+OK", nil},
		{"CAPA", "+OK", []string{"TOP", "UIDL", "RESP-CODES", "PIPELINING"}},
		{"USER x", "-ERR unknown command", nil},
		{"STLS", "-ERR unknown command", nil},
		{"X", "-ERR malformed command", nil},
		{"QUIT", "+OK bye", nil},
	}
	for _, st := range steps {
		p.send(st.cmd)
		if got := p.line(); got != st.reply && !(st.body != nil && strings.HasPrefix(got, st.reply)) {
			t.Fatalf("%s: got %q, want %q", st.cmd, got, st.reply)
		}
		if st.body != nil {
			if got := p.multi(); strings.Join(got, "|") != strings.Join(st.body, "|") {
				t.Fatalf("%s: body %q, want %q", st.cmd, got, st.body)
			}
		}
	}
	p.closed()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestUpdateOnlyOnQuit: deletions and moves happen on QUIT only (RFC 1939
// section 6); a dropped connection changes nothing.
func TestUpdateOnlyOnQuit(t *testing.T) {
	md := fixture(t)
	p, done := startSession(t, md)
	p.expect("+OK")
	p.send("RETR 2")
	p.expect("+OK")
	p.multi()
	p.send("DELE 1")
	p.expect("+OK")
	p.conn.Close() // dropped, no QUIT
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"cur/" + uidA + ":2,F", "new/" + uidB, "new/" + uidC} {
		if !exists(filepath.Join(md, f)) {
			t.Errorf("%s changed without QUIT", f)
		}
	}

	p, done = startSession(t, md)
	p.expect("+OK 3")
	for _, c := range []string{"RETR 1", "RETR 2"} {
		p.send(c)
		p.expect("+OK")
		p.multi()
	}
	p.send("TOP 3 1") // a preview does not mark the message seen
	p.expect("+OK")
	p.multi()
	p.send("DELE 3")
	p.expect("+OK")
	p.send("QUIT")
	p.expect("+OK")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{
		"cur/" + uidA + ":2,FS": true, // existing flag kept, S added in ASCII order
		"cur/" + uidB + ":2,S":  true, // retrieved: moved from new/ and marked seen
	}
	got := map[string]bool{}
	for _, sub := range []string{"new", "cur"} {
		ents, _ := os.ReadDir(filepath.Join(md, sub))
		for _, e := range ents {
			got[sub+"/"+e.Name()] = true
		}
	}
	if len(got) != len(want) {
		t.Fatalf("mailbox after QUIT = %v, want %v", got, want)
	}
	for k := range want {
		if !got[k] {
			t.Fatalf("mailbox after QUIT = %v, want %v", got, want)
		}
	}
}

// TestListedOnlyStaysInNew: a message only listed is not moved.
func TestListedOnlyStaysInNew(t *testing.T) {
	md := fixture(t)
	p, done := startSession(t, md)
	p.expect("+OK")
	p.send("LIST")
	p.expect("+OK")
	p.multi()
	p.send("QUIT")
	p.expect("+OK")
	<-done
	if !exists(filepath.Join(md, "new", uidB)) || !exists(filepath.Join(md, "new", uidC)) {
		t.Fatal("listed messages moved out of new/")
	}
}

// TestUIDLStableAcrossSessions: the id survives the move to cur/ with flags.
func TestUIDLStableAcrossSessions(t *testing.T) {
	md := fixture(t)
	uidl := func(retr bool) []string {
		p, done := startSession(t, md)
		p.expect("+OK")
		p.send("UIDL")
		p.expect("+OK")
		got := p.multi()
		if retr {
			for _, c := range []string{"RETR 1", "RETR 2", "RETR 3"} {
				p.send(c)
				p.expect("+OK")
				p.multi()
			}
		}
		p.send("QUIT")
		p.expect("+OK")
		<-done
		return got
	}
	first := uidl(true)
	second := uidl(false)
	if strings.Join(first, ",") != strings.Join(second, ",") || len(first) != 3 {
		t.Fatalf("UIDL changed across sessions: %v then %v", first, second)
	}
	if exists(filepath.Join(md, "new", uidB)) {
		t.Fatal("retrieved message still in new/")
	}
}

// TestConcurrentDelivery: mail arriving during a session waits for the next
// one; a message removed behind the session's back gives -ERR, not a crash.
func TestConcurrentDelivery(t *testing.T) {
	md := fixture(t)
	p, done := startSession(t, md)
	p.expect("+OK 3")
	put(t, md, "new", "2000.M9P9.host", "Subject: late\n\nx\n", 0)
	os.Remove(filepath.Join(md, "new", uidC))
	p.send("RETR 3")
	p.expect("-ERR")
	p.send("LIST 3")
	p.expect("-ERR no such message")
	p.send("STAT")
	p.expect("+OK 2 ")
	p.send("LIST 4")
	p.expect("-ERR no such message")
	p.send("DELE 2")
	p.expect("+OK")
	p.send("QUIT")
	p.expect("+OK bye")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !exists(filepath.Join(md, "new", "2000.M9P9.host")) || exists(filepath.Join(md, "new", uidB)) {
		t.Fatal("late delivery touched or deletion lost")
	}
	p, done = startSession(t, md)
	p.expect("+OK 2 messages")
	p.send("QUIT")
	p.expect("+OK")
	<-done
}

// TestSecondSessionInUse: the lock refuses a second session with [IN-USE]
// (RFC 2449 section 8.1.1), and releases when the first ends.
func TestSecondSessionInUse(t *testing.T) {
	md := fixture(t)
	p1, done1 := startSession(t, md)
	p1.expect("+OK 3")
	p2, done2 := startSession(t, md)
	p2.expect("-ERR [IN-USE]")
	p2.closed()
	if err := <-done2; err == nil {
		t.Fatal("second session reported no error")
	}
	p1.send("QUIT")
	p1.expect("+OK")
	<-done1
	p3, done3 := startSession(t, md)
	p3.expect("+OK 3")
	p3.send("QUIT")
	p3.expect("+OK")
	<-done3
}

// TestPipelinedCommands: RFC 2449 PIPELINING, all commands in one write.
func TestPipelinedCommands(t *testing.T) {
	p, done := startSession(t, fixture(t))
	p.conn.Write([]byte("STAT\r\nUIDL 1\r\nNOOP\r\nQUIT\r\n"))
	p.expect("+OK 3 messages")
	p.expect("+OK 3 ")
	p.expect("+OK 1 " + uidA)
	p.expect("+OK")
	p.expect("+OK bye")
	<-done
}

func TestUIDOf(t *testing.T) {
	long := strings.Repeat("a", 71)
	tests := []struct{ name, want string }{
		{"123.M1P2.host:2,S", "123.M1P2.host"},
		{"123.M1P2.host", "123.M1P2.host"},
		{"1.2.host\\057x:2,", "1.2.host\\057x"},
	}
	for _, tt := range tests {
		if got := uidOf(tt.name); got != tt.want {
			t.Errorf("uidOf(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
	for _, bad := range []string{long, "a b", "é", ":2,S"} {
		u := uidOf(bad)
		if len(u) > 70 || len(u) == 0 || strings.ContainsAny(u, " \t") || u != uidOf(bad) {
			t.Errorf("uidOf(%q) = %q: not a valid stable unique-id", bad, u)
		}
	}
	if uidOf(long) == uidOf(long+"b") {
		t.Error("hashed ids collide")
	}
}

func TestSeenName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"x", "x:2,S"},
		{"x:2,", "x:2,S"},
		{"x:2,FR", "x:2,FRS"},
		{"x:2,T", "x:2,ST"},
		{"x:2,RS", "x:2,RS"},
		{"x:1,abc", "x:1,abc"},
	}
	for _, tt := range tests {
		if got := seenName(tt.in); got != tt.want {
			t.Errorf("seenName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestSessionCleansOldTmp: a session starts by removing what killed
// deliveries left in tmp/ over 36 hours ago (qmail-pop3d's maildir_clean);
// a younger file, maybe a delivery in progress, stays.
func TestSessionCleansOldTmp(t *testing.T) {
	md := fixture(t)
	put(t, md, "tmp", "killed.1", "partial", 37*time.Hour)
	put(t, md, "tmp", "running.1", "partial", time.Hour)
	p, done := startSession(t, md)
	p.expect("+OK")
	p.send("QUIT")
	p.expect("+OK")
	<-done
	if exists(filepath.Join(md, "tmp", "killed.1")) {
		t.Error("a tmp/ file 37 hours old survived the session")
	}
	if !exists(filepath.Join(md, "tmp", "running.1")) {
		t.Error("a tmp/ file an hour old was removed")
	}
}
