package local

import (
	"io"
	"os"
	"strings"
	"time"

	"goqmail/internal/submit"
)

// DefaultForwardTimeout bounds the queue's answer to a forward.
const DefaultForwardTimeout = 10 * time.Minute

// forward submits the collected forward addresses as one new message, as
// qmail-local's mailforward does with one qmail-queue run: our
// Delivered-To line, then the message (no Return-Path: the new envelope
// carries the sender); the envelope sender is NEWSENDER, the sender or the
// list owner. It returns the new message's queue id.
//
// A bare name without '@' is completed with the recipient's domain.
//
// Like qmail, forwards go last, after every other line succeeded; a failure
// here defers the whole delivery and the retry repeats the earlier lines
// (a second copy in a maildir, a program run again). qmail has the same
// caveat; the alternative, forwarding first, would send mail on before
// knowing whether the local lines can be done.
func (d *delivery) forward(rcpts []string, content *os.File) (string, error) {
	if d.w.SubmitSocket == "" {
		return "", temporary("Unable to forward message: no queue submit socket configured. (#4.3.0)")
	}
	for i, r := range rcpts {
		if !strings.Contains(r, "@") {
			rcpts[i] = r + "@" + d.req.Domain
		}
	}
	body := io.MultiReader(strings.NewReader(d.info.DTLine()), io.NewSectionReader(content, 0, d.req.Size))
	timeout := d.w.ForwardTimeout
	if timeout <= 0 {
		timeout = DefaultForwardTimeout
	}
	res, err := submit.Message(d.w.SubmitSocket, d.info.NewSender, rcpts, body, timeout)
	if err != nil {
		return "", temporary("Unable to forward message: %v. (#4.3.0)", err)
	}
	if !res.OK {
		text := "Unable to forward message: " + res.Text
		if res.Temporary {
			return "", temporary("%s", text)
		}
		return "", permanent(text)
	}
	return res.ID, nil
}
