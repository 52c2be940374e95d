package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Messages are generated, not stored: message n of a run is a pure function
// of the seed and n, so the verifier regenerates the expected bytes instead
// of holding every message (10,000 messages with a few 100 KB+ ones would
// otherwise sit in memory for the whole run).

const (
	rcptAddr   = "demo@example.test"
	senderHost = "client.example.test"
	heloName   = "crashtest.client.test"
	idHeader   = "X-Crash-Id: "
)

// crashID is the X-Crash-Id of message n in the run tagged run.
func crashID(run string, n int) string { return run + "." + strconv.Itoa(n) }

// parseCrashID is the inverse of crashID; ok is false for anything else.
func parseCrashID(run, id string) (int, bool) {
	rest, ok := strings.CutPrefix(id, run+".")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	if err != nil || strconv.Itoa(n) != rest {
		return 0, false
	}
	return n, true
}

// envSender is the envelope sender of one delivery attempt of message n.
// Every attempt gets its own, so that a copy in the Maildir (Return-Path)
// and the log (info msg ... from <...>) say which attempt, and so which
// queue message, it came from.
func envSender(n, attempt int) string {
	return fmt.Sprintf("crash-%d-%d@%s", n, attempt, senderHost)
}

// parseEnvSender is the inverse of envSender.
func parseEnvSender(s string) (n, attempt int, ok bool) {
	local, ok := strings.CutSuffix(s, "@"+senderHost)
	if !ok {
		return 0, 0, false
	}
	parts := strings.Split(local, "-")
	if len(parts) != 3 || parts[0] != "crash" {
		return 0, 0, false
	}
	n, err1 := strconv.Atoi(parts[1])
	attempt, err2 := strconv.Atoi(parts[2])
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return n, attempt, true
}

// demoOnly is the recipient list of every kill test message.
func demoOnly(int) []string { return []string{rcptAddr} }

// storedForm is message n, addressed to the recipients to, as the queue
// stores it and the Maildir gets it after our added headers: LF line ends,
// no dot-stuffing. Sizes: mostly
// 1-8 KB, some 8-64 KB, a few 100-400 KB; the body mixes short and long
// lines, empty lines, and lines starting with '.' (including "." and ".."
// alone, which only dot-stuffing keeps from ending the data).
func storedForm(seed uint64, run string, n int, to []string) []byte {
	r := rand.New(rand.NewPCG(seed, uint64(n)))
	var size int
	switch p := r.IntN(100); {
	case p < 90:
		size = 1<<10 + r.IntN(7<<10)
	case p < 97:
		size = 8<<10 + r.IntN(56<<10)
	default:
		size = 100<<10 + r.IntN(300<<10)
	}
	var b bytes.Buffer
	b.Grow(size + 512)
	fmt.Fprintf(&b, "%s%s\n", idHeader, crashID(run, n))
	fmt.Fprintf(&b, "Message-ID: <%s@%s>\n", crashID(run, n), senderHost)
	fmt.Fprintf(&b, "From: crash test <crash@%s>\nTo: <%s>\n", senderHost, strings.Join(to, ">, <"))
	fmt.Fprintf(&b, "Subject: crash test message %d of run %s\n\n", n, run)
	for b.Len() < size {
		switch p := r.IntN(100); {
		case p < 4:
			b.WriteString(".\n")
		case p < 6:
			b.WriteString("..\n")
		case p < 12:
			b.WriteByte('.')
			randomLine(r, &b, 1+r.IntN(70))
		case p < 16:
			b.WriteByte('\n')
		case p < 18:
			randomLine(r, &b, 1000+r.IntN(9000)) // past RFC 5321's 1000
		default:
			randomLine(r, &b, r.IntN(100))
		}
	}
	return b.Bytes()
}

// randomLine appends n printable characters (ASCII 0x20-0x7e and TAB) and LF.
func randomLine(r *rand.Rand, b *bytes.Buffer, n int) {
	for range n {
		c := byte(0x20 + r.IntN(0x7f-0x20))
		if r.IntN(50) == 0 {
			c = '\t'
		}
		b.WriteByte(c)
	}
	b.WriteByte('\n')
}

// wireForm turns a stored form into SMTP DATA content: CRLF line ends,
// a leading '.' doubled (RFC 5321 4.5.2), terminated by "." CRLF.
func wireForm(stored []byte) []byte {
	out := make([]byte, 0, len(stored)+len(stored)/30+8)
	for len(stored) > 0 {
		i := bytes.IndexByte(stored, '\n')
		line := stored[:i]
		stored = stored[i+1:]
		if len(line) > 0 && line[0] == '.' {
			out = append(out, '.')
		}
		out = append(out, line...)
		out = append(out, '\r', '\n')
	}
	return append(out, '.', '\r', '\n')
}
