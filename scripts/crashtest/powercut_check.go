package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"goqmail/internal/queue"
)

// checkQueue looks at the queue right after recovery: every file in msg/
// must be a complete message of ours (its envelope one of our attempts,
// its recipients that message's, its content that message's exactly), and
// files recovery put in bad/ are reported (a failure only if one was
// acknowledged). A message delivered meanwhile is skipped: its copies are
// checked in the Maildirs.
func (c *campaign) checkQueue(life int) {
	q := queue.Layout{Root: filepath.Join(c.srv.root, "queue")}
	ents, err := os.ReadDir(q.MsgDir())
	if err != nil {
		c.res.problems = append(c.res.problems, fmt.Sprintf("life %d: read queue: %v", life, err))
		return
	}
	for _, e := range ents {
		id, suf, ok := queue.SplitName(e.Name())
		if !ok || suf != "" {
			continue
		}
		why, stale, err := c.queueFile(q.Msg(id), id)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		c.res.queueChecked++
		switch {
		case err != nil:
			c.res.queueIncomplete = append(c.res.queueIncomplete, fmt.Sprintf("life %d: msg/%s: %v", life, id, err))
		case why != "":
			c.res.queueIncomplete = append(c.res.queueIncomplete, fmt.Sprintf("life %d: msg/%s: %s", life, id, why))
		case stale != "":
			c.res.stale = append(c.res.stale, fmt.Sprintf("life %d: msg/%s: %s", life, id, stale))
		}
	}
	bad, _ := os.ReadDir(q.BadDir())
	for _, e := range bad {
		name := e.Name()
		if _, seen := c.res.bad[name]; seen || strings.HasSuffix(name, queue.SufState) {
			continue
		}
		desc, acked := c.badFile(q.Bad(name), name)
		c.res.bad[name] = fmt.Sprintf("life %d: bad/%s: %s", life, name, desc)
		if acked >= 0 {
			c.res.badAcked[name] = acked
		}
	}
}

// queueFile checks one message file. why says how it is not a complete
// message of ours; stale says it is one, but not the one acknowledged
// under this id (a reused file whose new content was lost: the old message
// is back under a new id, and will be delivered again).
func (c *campaign) queueFile(path, id string) (why, stale string, err error) {
	env, err := queue.ReadEnvelope(path)
	if err != nil {
		return "", "", err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", "", err
	}
	n, att, ok := parseEnvSender(env.Sender)
	if !ok || n < 0 || n >= c.next || att < 1 || att > len(c.recs[n].attempts) {
		return fmt.Sprintf("envelope sender <%s> is none of our attempts", clip(env.Sender)), "", nil
	}
	if want := c.to(n); !slices.Equal(env.Rcpts, want) {
		return fmt.Sprintf("recipients %v, but message %d goes to %v", env.Rcpts, n, want), "", nil
	}
	content := b[int64(len(b))-env.Size:]
	r1, rest, _ := bytes.Cut(content, []byte("\n"))
	r2, body, _ := bytes.Cut(rest, []byte("\n"))
	if !bytes.HasPrefix(r1, []byte("Received: from ")) || !bytes.HasPrefix(r2, []byte("  by ")) {
		return "content does not start with smtpd's Received header", "", nil
	}
	if want := storedForm(c.o.seed, c.run, n, c.to(n)); !bytes.Equal(body, want) {
		return fmt.Sprintf("content is not message %d's (%d bytes, want %d; first difference at byte %d)", n, len(body), len(want), firstDiff(body, want)), "", nil
	}
	if q := c.recs[n].attempts[att-1].qid; q != "" && q != id {
		return "", fmt.Sprintf("message %d attempt %d, acknowledged as msg %s", n, att, q), nil
	}
	return "", "", nil
}

// badFile describes a file recovery moved to bad/ and returns the message
// acknowledged under its name, or -1. Such a name may be an acknowledged
// message recovery would not deliver (a loss) or, after file reuse, the
// surviving old name of a message delivered before the cut whose file now
// holds another message (evaluate tells which).
func (c *campaign) badFile(path, id string) (string, int) {
	acked := -1
	desc := "not a name any message was acknowledged under"
	for n := range c.next {
		rec := &c.recs[n]
		if rec.acked >= 0 && rec.attempts[rec.acked].qid == id {
			acked = n
			desc = fmt.Sprintf("the name message %d was acknowledged under", n)
		}
	}
	env, err := queue.ReadEnvelope(path)
	if err != nil {
		return fmt.Sprintf("%s; unreadable (%v)", desc, err), acked
	}
	return fmt.Sprintf("%s; holds an envelope from <%s>", desc, clip(env.Sender)), acked
}

// verify checks and removes every file in every Maildir's new/ and cur/,
// and removes tmp/ leftovers (deliveries the cut stopped). Removing keeps
// the image small; what was delivered is remembered in the result. Then
// everything is made durable, as a machine idle for half a minute would
// have written it back, so the next load starts from a quiet disk.
func (c *campaign) verify(life int) error {
	for u, box := range c.boxes {
		for _, sub := range []string{"new", "cur"} {
			ents, err := os.ReadDir(filepath.Join(box, sub))
			if err != nil {
				return fmt.Errorf("life %d: %w", life, err)
			}
			for _, e := range ents {
				path := filepath.Join(box, sub, e.Name())
				b, err := os.ReadFile(path)
				if err != nil {
					return fmt.Errorf("life %d: %w", life, err)
				}
				c.res.files++
				c.classify(life, u, sub+"/"+e.Name(), b)
				if err := os.Remove(path); err != nil {
					return fmt.Errorf("life %d: %w", life, err)
				}
			}
		}
		ents, _ := os.ReadDir(filepath.Join(box, "tmp"))
		for _, e := range ents {
			c.res.tmpLeft++
			os.Remove(filepath.Join(box, "tmp", e.Name()))
		}
	}
	c.fs.Sync()
	return nil
}

// classify files one delivered file: a good copy of an attempt of a
// message to one of its recipients, or misdelivered (a whole message in a
// mailbox not among its recipients, or under another message's envelope),
// or corrupt: empty, cut short, holding never-written (zero) pages, or
// garbled (someone else's bytes, a mix of two messages).
func (c *campaign) classify(life, u int, name string, b []byte) {
	addr := c.users[u]
	where := fmt.Sprintf("life %d: %s %s", life, addr, name)
	n, att, why := checkCopy(b, c.o.seed, c.run, c.recs[:c.next], addr, c.to)
	if why == "" {
		if !slices.Contains(c.to(n), addr) {
			c.res.misdelivered = append(c.res.misdelivered, fmt.Sprintf("%s: message %d attempt %d, whose recipients are %v", where, n, att, c.to(n)))
			return
		}
		c.res.copy(n, addr, att)
		return
	}
	kind, detail := c.corruptKind(b)
	if kind == "misdelivered" {
		c.res.misdelivered = append(c.res.misdelivered, fmt.Sprintf("%s: %s (%s)", where, detail, why))
		return
	}
	c.res.corruptKinds[kind]++
	c.res.corrupt = append(c.res.corrupt, fmt.Sprintf("%s: %s: %s", where, kind, why))
	if len(c.res.corrupt) <= 50 {
		// Kept for a look: the file as it was delivered.
		dir := filepath.Join(c.work, "corrupt")
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("life%d-%s-%s", life, strings.Split(addr, "@")[0], filepath.Base(name))), b, 0o644)
	}
}

// corruptKind says what a file that is no good copy holds.
func (c *campaign) corruptKind(b []byte) (kind, detail string) {
	if len(b) == 0 {
		return "empty", ""
	}
	body := b
	for range 4 { // Return-Path, Delivered-To, two Received lines
		_, rest, ok := bytes.Cut(body, []byte("\n"))
		if !ok {
			return "cut short", ""
		}
		body = rest
	}
	idLine, _, _ := bytes.Cut(body, []byte("\n"))
	id, ok := strings.CutPrefix(string(idLine), idHeader)
	m, ok2 := parseCrashID(c.run, id)
	if ok && ok2 && m >= 0 && m < c.next {
		want := storedForm(c.o.seed, c.run, m, c.to(m))
		switch {
		case bytes.Equal(body, want):
			return "misdelivered", fmt.Sprintf("the whole of message %d, whose recipients are %v", m, c.to(m))
		case bytes.HasPrefix(want, body):
			return "cut short", ""
		}
	}
	if bytes.IndexByte(b, 0) >= 0 {
		return "zero pages", ""
	}
	return "garbled", ""
}
