package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"goqmail/internal/inject"
	"goqmail/internal/submit"
)

// enqueue is the default mode: read the message from standard input,
// complete its header (internal/inject), and hand it to the queue through
// ROOT/run/submit.sock. Exit 0 means the queue has the message on disk.
func (e *environment) enqueue(root string, o options) int {
	cfg, err := e.injectConfig(root, o)
	if err != nil {
		return e.fail(exitConfig, "%v", err)
	}
	sender, err := cfg.DefaultSender()
	if o.hasSender {
		sender, err = cfg.Sender(o.sender)
	}
	if err != nil {
		return e.fail(exitUsage, "sender: %v", err)
	}
	var rcpts []string
	for _, arg := range o.rcpts {
		r, err := cfg.Recipients(arg)
		if err != nil {
			return e.fail(exitUsage, "recipient: %v", err)
		}
		rcpts = append(rcpts, r...)
	}

	body := bufio.NewReaderSize(inject.NewInput(e.stdin, o.dotEnds), 64<<10)
	header, bodyStart, err := inject.SplitHeader(body, inject.MaxHeader)
	if err != nil {
		return e.fail(exitFor(err), "%v", err)
	}
	res := inject.NewCompleter(cfg).Complete(header)
	if o.extract || o.verbose {
		for _, w := range res.Warnings {
			e.warn("%s", w)
		}
	}
	if o.extract {
		// Postfix: header recipients are added to those of the command line.
		rcpts = append(rcpts, res.Recipients...)
	}
	rcpts = unique(rcpts)
	if len(rcpts) == 0 {
		return e.fail(exitUsage, "no recipients: none on the command line and none in the To, Cc or Bcc fields")
	}

	content := io.MultiReader(bytes.NewReader(res.Header), strings.NewReader("\n"), bytes.NewReader(bodyStart), body)
	sock := filepath.Join(root, "run", "submit.sock")
	result, err := submit.Message(sock, sender, rcpts, content, commitTimeout)
	switch {
	case err != nil && exitFor(err) != exitTempFail:
		return e.fail(exitFor(err), "%v", err)
	case err != nil:
		return e.fail(exitTempFail, "queue at %s: %v (is goqmaild running?); the message was not sent", sock, err)
	case !result.OK && result.Temporary:
		return e.fail(exitTempFail, "queue: %s; the message was not sent, try again later", result.Text)
	case !result.OK:
		return e.fail(exitCantCreat, "queue refused the message: %s", result.Text)
	}
	if o.verbose {
		fmt.Fprintf(e.stderr, "%s: queued as %s: from <%s> to %d recipients\n", e.name, result.ID, sender, len(rcpts))
	}
	return exitOK
}

func unique(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
