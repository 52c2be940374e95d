package local

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"goqmail/internal/dotqmail"
	"goqmail/internal/proto"
	"goqmail/internal/vdir"
)

// delivery is one message to one recipient: qmail-local's run, as state
// of a goroutine instead of a process.
type delivery struct {
	w    *Worker
	req  proto.Local
	msg  *os.File // the spawner's pipe, exactly req.Size bytes
	info dotqmail.Delivery

	counts struct{ files, forwards, programs int }
	output []string // what programs printed, for the report

	vres  vdir.Result   // Virtual: what the directory said
	quota *mailboxQuota // Virtual mailbox with a quota, checked before delivery
	junk  bool          // the message carries proto.JunkHeader: maildirs get it in .Junk (junk.go)
}

// deliver runs qmail-local's algorithm for one request and returns the
// report: K, Z or D and its text.
func (w *Worker) deliver(req proto.Local, msg *os.File) (byte, string) {
	d := &delivery{w: w, req: req, msg: msg, info: dotqmail.Delivery{
		User: req.User, Home: req.Home, Local: req.Local, Ext: req.Ext,
		Domain: req.Domain, Sender: req.Sender, NewSender: req.Sender, Now: w.clock(),
	}}
	text, err := d.run()
	if err != nil {
		return d.failed(err)
	}
	return proto.ResultSuccess, text
}

// run does the delivery and returns the success text.
//
// The order is qmail-local's: the home directory check, the instructions,
// the loop check, then the instructions in file order, stopping at the
// first failure, forwards last. When the instructions are one maildir or
// mbox line (the usual default delivery) the message streams from the
// spawner's pipe into it, and the loop check runs on the header as it
// passes; otherwise the message is copied once into memory so each
// instruction can read it from the start.
func (d *delivery) run() (text string, err error) {
	if d.req.Virtual {
		if err := d.virtualHome(); err != nil {
			return "", err
		}
		if _, serr := os.Stat(d.req.Home); serr != nil {
			// A domain without its mailbox directory: only the
			// directory's answer (a forward, no such user) can apply.
			plan, err := d.plan()
			if err != nil {
				return "", err
			}
			return d.copyAndRun(plan)
		}
	}
	if err := checkHome(d.req.Home); err != nil {
		return "", err
	}
	plan, err := d.plan()
	if err != nil {
		return "", err
	}
	if d.quota != nil {
		if err := d.quota.check(d); err != nil {
			return "", err
		}
		defer func() {
			if err == nil {
				d.quota.record(d)
			}
		}()
	}
	if len(plan) == 1 && (plan[0].Kind == dotqmail.Maildir || plan[0].Kind == dotqmail.Mbox) {
		return d.stream(plan[0])
	}
	return d.copyAndRun(plan)
}

// stream delivers straight from the pipe into one file.
func (d *delivery) stream(in dotqmail.Instruction) (string, error) {
	body := &exactReader{r: d.msg, left: d.req.Size}
	head, err := readHead(body)
	if err != nil {
		if body.short {
			return "", temporary(textShort)
		}
		return "", temporary("Unable to read message: %v. (#4.3.0)", err)
	}
	_, d.junk = junkReason(head)
	loop := &loopReader{r: io.MultiReader(bytes.NewReader(head), body), scan: newHeaderScan(d.info.DTLine())}
	err = d.deliverFile(in, loop)
	switch {
	case loop.scan.looping:
		return "", permanent(textLooping)
	case body.short:
		return "", temporary(textShort)
	case err != nil:
		return "", err
	}
	d.counts.files++
	return d.successText(""), nil
}

// copyAndRun copies the message into memory, checks for a loop, and runs
// the instructions.
func (d *delivery) copyAndRun(plan []dotqmail.Instruction) (string, error) {
	content, err := copyContent(d.msg, d.req.Size)
	if errors.Is(err, errShort) {
		return "", temporary(textShort)
	}
	if err != nil {
		return "", temporary("Unable to read message: %v. (#4.3.0)", err)
	}
	defer content.Close()
	message := func() io.Reader { return io.NewSectionReader(content, 0, d.req.Size) }

	looping, err := headerLoops(message(), d.info.DTLine())
	if err != nil {
		return "", temporary("Unable to read message: %v. (#4.3.0)", err)
	}
	if looping {
		return "", permanent(textLooping)
	}
	head, err := readHead(io.NewSectionReader(content, 0, d.req.Size))
	if err != nil {
		return "", temporary("Unable to read message: %v. (#4.3.0)", err)
	}
	_, d.junk = junkReason(head)
	if needsNewSender(plan) {
		owner, err := dotqmail.Owner(dotqmail.Home(d.req.Home), d.req.Dash, d.req.Ext)
		if err != nil {
			return "", err
		}
		d.info.NewSender = dotqmail.NewSender(d.req.Sender, d.req.Local, d.req.Domain, owner)
		if !owner && d.req.ForwardSender != "" {
			// SRS: send made the sender's address in our domain, so the
			// next hop's SPF check passes (docs/outbound.md). A list
			// owner's address is ours already.
			d.info.NewSender = d.req.ForwardSender
		}
	}

	var rcpts []string
run:
	for _, in := range plan {
		switch in.Kind {
		case dotqmail.Maildir, dotqmail.Mbox:
			d.counts.files++
			if err := d.deliverFile(in, message()); err != nil {
				return "", err
			}
		case dotqmail.Program:
			d.counts.programs++
			status, err := d.runProgram(in.Value, content)
			if err != nil {
				return "", err
			}
			if status == programStop {
				break run // exit 99: earlier forwards still go out
			}
		case dotqmail.Forward:
			d.counts.forwards++
			rcpts = append(rcpts, in.Value)
		}
	}
	qp := ""
	if len(rcpts) > 0 {
		id, err := d.forward(rcpts, content)
		if err != nil {
			return "", err
		}
		qp = "qp " + id + "/"
	}
	return d.successText(qp), nil
}

// needsNewSender: NEWSENDER matters to forwards and programs only, so the
// -owner file is looked for only then.
func needsNewSender(plan []dotqmail.Instruction) bool {
	for _, in := range plan {
		if in.Kind == dotqmail.Forward || in.Kind == dotqmail.Program {
			return true
		}
	}
	return false
}

// deliverFile writes the message with Return-Path and Delivered-To in front
// into a maildir or an mbox. A relative path is relative to home (qmail-local
// runs in the home directory).
func (d *delivery) deliverFile(in dotqmail.Instruction, body io.Reader) error {
	path := in.Value
	if !filepath.IsAbs(path) {
		path = filepath.Join(d.req.Home, path)
	}
	prefix := d.info.RPLine() + d.info.DTLine()
	if in.Kind == dotqmail.Maildir {
		line := in.Value
		if d.junk && !JunkToInbox(path) {
			line = filepath.Join(in.Value, junkFolder)
			var err error
			if path, err = junkMaildir(path); err != nil {
				return temporary("%s", maildirError(line, err))
			}
		}
		if _, err := d.w.deliverer.Deliver(path, []byte(prefix), body); err != nil {
			return temporary("%s", maildirError(line, err))
		}
		return nil
	}
	if err := d.w.appender.Append(path, d.req.Sender, d.info.Now, []byte(prefix), body); err != nil {
		return temporary("%s", mboxError(in.Value, err))
	}
	return nil
}

// successText is qmail-local's count_print ("did files+forwards+programs",
// then "qp id" when it forwarded), then what programs printed.
func (d *delivery) successText(qp string) string {
	text := fmt.Sprintf("did %d+%d+%d/", d.counts.files, d.counts.forwards, d.counts.programs) + qp
	return text + strings.Join(d.output, "/")
}

// failed turns a failure into the report: what programs printed before
// it, then its own text. Permanent failures bounce; everything else is
// retried.
func (d *delivery) failed(err error) (byte, string) {
	res := proto.ResultDeferral
	text := err.Error()
	var f *failure
	if errors.As(err, &f) && f.permanent {
		res = proto.ResultPermanent
	}
	parts := d.output
	if text != "" {
		parts = append(parts, text)
	}
	return res, strings.Join(parts, "/")
}

// checkHome applies qmail-local's checkhome to the home directory: it must
// exist, must not be writable by group or others (anyone who can write it
// can write .qmail files), and a sticky bit means the user is editing his
// .qmail files right now, so delivery waits.
func checkHome(home string) error {
	st, err := os.Stat(home)
	if err == nil && !st.IsDir() {
		err = fmt.Errorf("not a directory")
	}
	if err != nil {
		return temporary("Unable to switch to %s: %v. (#4.3.0)", home, cause(err))
	}
	if st.Mode().Perm()&0o022 != 0 {
		return temporary("Uh-oh: home directory is writable. (#4.7.0)")
	}
	if st.Mode()&os.ModeSticky != 0 {
		return temporary("Home directory is sticky: user is editing his .qmail file. (#4.2.1)")
	}
	return nil
}
