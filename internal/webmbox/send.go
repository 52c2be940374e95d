package webmbox

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"net/mail"

	"goqmail/internal/control"
	"goqmail/internal/maildir"
	"goqmail/internal/mailstore"
	"goqmail/internal/submit"
	"goqmail/internal/webrpc"
)

func init() {
	register(OpSend, (*Session).send)
}

// Folder names of the special-use folders (Dovecot's, created on first
// use).
const (
	sendSentFolder   = "Sent"
	sendDraftsFolder = "Drafts"
)

// submitTimeout is how long the queue may take to commit (as sendmail).
const submitTimeout = 10 * time.Minute

// now is the clock of composed messages (tests set it).
var composeClock = time.Now

// send builds the message and submits it through the queue's submit
// socket, as goqmail-sendmail does for local programs: the queue records
// the session's uid, adds its own Received line and has the message
// DKIM-signed as every local submission (proto.Begin), and routing,
// retries and bounces are the queue's as for any other mail. The limits
// smtpd applies to network mail (databytes, maxrcpt) are applied here.
// Envelope: the From address; To, Cc and Bcc as recipients.
func (s *Session) send(req *webrpc.Request) *webrpc.Response {
	c, err := s.parseCompose(req, false)
	if err != nil {
		return composeError(err)
	}
	// The recipients are counted first: 10,000 addresses in To are
	// refused for what they are before kept parts are read and a message
	// with a To field of 10,000 addresses is built (security review of
	// issue 15).
	var rcpts []string
	seen := map[string]bool{}
	for _, l := range [][]*mail.Address{c.to, c.cc, c.bcc} {
		for _, a := range l {
			if k := strings.ToLower(a.Address); !seen[k] {
				seen[k] = true
				rcpts = append(rcpts, a.Address)
			}
		}
	}
	maxRcpt, err := s.controlNumber(control.MaxRcpt)
	if err != nil {
		return composeError(err)
	}
	if int64(len(rcpts)) > maxRcpt {
		return webrpc.Errorf(webrpc.Invalid, "%d recipients: at most %d per message (control/maxrcpt, as for SMTP)", len(rcpts), maxRcpt)
	}
	raw, err := s.compose(c, false)
	if err != nil {
		return composeError(err)
	}
	sock := filepath.Join(s.Root, "run", "submit.sock")
	res, err := submit.Message(sock, c.from.Address, rcpts, bytes.NewReader(raw), submitTimeout)
	switch {
	case err != nil:
		s.Log.Printf("warning: webmail send of %s: queue: %v", s.Login, err)
		return webrpc.Errorf(webrpc.Failed, "the mail queue is not available (%v); the message was not sent, try again later", err)
	case !res.OK && res.Temporary:
		return webrpc.Errorf(webrpc.Failed, "the mail queue refused the message for now (%s); it was not sent, try again later", res.Text)
	case !res.OK:
		return webrpc.Errorf(webrpc.Invalid, "the mail queue refused the message: %s", res.Text)
	}
	s.Log.Printf("webmail %s sent qp %s from <%s> to %d recipients", s.Login, res.ID, c.from.Address, len(rcpts))

	// The message is on its way; what follows only tidies the mailbox,
	// and a failure there is reported without pretending the send failed.
	var notes []string
	if err := s.ensureSpecialFolder(sendSentFolder); err != nil {
		notes = append(notes, "no copy was saved in Sent: "+err.Error())
	} else if _, err := s.Store.Append(sendSentFolder, raw, "S"); err != nil {
		notes = append(notes, "no copy was saved in Sent: "+err.Error())
	}
	if c.draftID != "" {
		if err := s.removeDraft(c.draftID); err != nil {
			notes = append(notes, "the draft was not removed: "+err.Error())
		}
	}
	if (c.mode == "reply" || c.mode == "replyall") && c.origID != "" {
		if err := s.Store.SetFlags(c.origFolder, c.origID, "R", ""); err != nil {
			notes = append(notes, "the original was not marked answered: "+err.Error())
		}
	}
	text := fmt.Sprintf("Sent to %d recipient", len(rcpts))
	if len(rcpts) != 1 {
		text += "s"
	}
	text += "."
	if len(notes) > 0 {
		s.Log.Printf("warning: webmail %s after send: %s", s.Login, strings.Join(notes, "; "))
		text += " But " + strings.Join(notes, "; ") + "."
	}
	return &webrpc.Response{Text: text}
}

// compose gathers the attachments (new uploads and kept parts of the
// original) and builds the message, bounded by control/databytes.
func (s *Session) compose(c *composed, draft bool) ([]byte, error) {
	limit, err := s.controlNumber(control.DataBytes)
	if err != nil {
		return nil, err
	}
	bound := limit
	if bound == 0 || bound > webrpc.MaxBlob {
		bound = webrpc.MaxBlob
	}
	var atts []outPart
	if len(c.keepAtts) > 0 {
		folder, id := c.origFolder, c.origID
		if c.mode == "draft" && c.draftID != "" && id == "" {
			folder, id = sendDraftsFolder, c.draftID
		}
		p, err := s.Store.Path(folder, id)
		if err != nil {
			return nil, err
		}
		kept, err := keptParts(p, c.keepAtts, bound)
		if err != nil {
			return nil, err
		}
		atts = append(atts, kept...)
	}
	for _, f := range c.files {
		atts = append(atts, outPart{name: f.Name, ctype: f.Type, data: f.Data})
	}
	// The attachments alone, base64-encoded (4/3), must fit before the
	// message is built in memory: kept parts may nest ("2" and "2.1"), so
	// their sum can pass the original's size many times.
	var attBytes int64
	for _, a := range atts {
		attBytes += int64(len(a.data)) / 3 * 4
	}
	if attBytes > bound {
		return nil, invalidCompose("the attachments are %d bytes encoded, more than the limit of %d bytes (control/databytes); remove some", attBytes, bound)
	}
	raw := c.build(composeClock(), atts, draft)
	if int64(len(raw)) > bound {
		return nil, invalidCompose("the message is %d bytes, more than the limit of %d bytes (control/databytes); remove attachments", len(raw), bound)
	}
	return raw, nil
}

// controlNumber reads a Number setting of control/ the way smtpd applies
// it to network mail (databytes: the largest message, 0 = no limit;
// maxrcpt: recipients per message). A missing file is the default; a
// file that does not parse or is out of range stops the send and names
// the file: never a silent "no limit".
func (s *Session) controlNumber(st *control.Setting) (int64, error) {
	name := filepath.Join(s.Root, "control", st.Name)
	text := st.Default
	data, err := os.ReadFile(name)
	switch {
	case err == nil:
		if items := control.Texts(control.Items(data)); len(items) == 1 {
			text = items[0]
		} else if len(items) > 1 {
			text = strings.Join(items, " ")
		}
	case !errors.Is(err, fs.ErrNotExist):
		return 0, errConfig{fmt.Sprintf("%s cannot be read (%v); the message was not sent", name, err)}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64)
	if err != nil || n < st.Min || (st.Max > 0 && n > st.Max && !st.Cap) {
		return 0, errConfig{fmt.Sprintf("%s: %q is not a valid %s; the message was not sent: ask the administrator to fix it (goqmail check)", name, text, st.Name)}
	}
	if st.Max > 0 && n > st.Max {
		n = st.Max
	}
	return n, nil
}

// errConfig is a control file the send cannot use (Status Failed).
type errConfig struct{ text string }

func (e errConfig) Error() string { return e.text }

// ensureSpecialFolder makes a special-use folder on first use, as maildirmake
// does (Maildir++: .Name with tmp/ new/ cur/ and the maildirfolder
// marker).
func (s *Session) ensureSpecialFolder(name string) error {
	_, err := s.Store.Dir(name)
	if !errors.Is(err, mailstore.ErrNotFound) {
		return err
	}
	dir := filepath.Join(s.Store.Root, "."+name)
	if err := maildir.Make(dir, 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(dir, "maildirfolder"), os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
}

// removeDraft removes a replaced draft from Drafts (a real removal: the
// new version is already stored).
func (s *Session) removeDraft(id string) error {
	p, err := s.Store.Path(sendDraftsFolder, id)
	if errors.Is(err, mailstore.ErrNotFound) {
		return nil // removed meanwhile (another tab): nothing to do
	}
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(p))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
