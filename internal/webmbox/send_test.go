package webmbox

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"goqmail/internal/mailstore"
	"goqmail/internal/proto"
	"goqmail/internal/webrpc"
)

// sendArgs are send's positional arguments (ops.go).
type sendArgs struct {
	from, to, cc, bcc, subject, body, inReplyTo, refs, draftID, origFolder, origID, mode, keep string
}

func (a sendArgs) list() []string {
	return []string{a.from, a.to, a.cc, a.bcc, a.subject, a.body, a.inReplyTo, a.refs, a.draftID, a.origFolder, a.origID, a.mode, a.keep}
}

func TestSendBuildsAndSubmits(t *testing.T) {
	s, q := selfSession(t)
	body := "Grüße!\n" + strings.Repeat("x", 1200) + "\nFrom the start\n"
	r := selfCall(t, s, OpSend, nil, sendArgs{
		to: "Alice Ä <alice@example.org>, carol@example.net", cc: "dave@example.org",
		bcc: "secret@example.org", subject: "Grüße\r\nBcc: evil@example.org", body: body,
		inReplyTo: "<a@b> junk", refs: "<x@y> <a@b>",
	}.list()...)
	if r.Status != webrpc.OK {
		t.Fatalf("send: %v %s", r.Status, r.Text)
	}
	subs := q.Submissions()
	if len(subs) != 1 || !subs[0].Committed {
		t.Fatalf("submissions: %+v", subs)
	}
	sub := subs[0]
	if sub.Sender != "bob@example.com" || strings.Join(sub.Rcpts, " ") != "alice@example.org carol@example.net dave@example.org secret@example.org" {
		t.Fatalf("envelope: %q %q", sub.Sender, sub.Rcpts)
	}
	if !strings.Contains(r.Text, "4 recipients") {
		t.Errorf("text %q", r.Text)
	}
	for _, line := range strings.Split(sub.Content, "\n") {
		if len(line) > 998 {
			t.Errorf("line of %d bytes", len(line))
		}
		if strings.HasPrefix(strings.ToLower(line), "bcc:") {
			t.Errorf("Bcc line in a sent message: %q", line)
		}
	}
	m, err := mail.ReadMessage(strings.NewReader(sub.Content))
	if err != nil {
		t.Fatal(err)
	}
	dec := new(mime.WordDecoder)
	subj, _ := dec.DecodeHeader(m.Header.Get("Subject"))
	if subj != "Grüße  Bcc: evil@example.org" || !strings.HasPrefix(m.Header.Get("Subject"), "=?utf-8?") {
		t.Errorf("subject %q (%q)", subj, m.Header.Get("Subject"))
	}
	if !strings.HasSuffix(m.Header.Get("Message-ID"), "@example.com>") || m.Header.Get("Date") == "" {
		t.Errorf("Message-ID %q Date %q", m.Header.Get("Message-ID"), m.Header.Get("Date"))
	}
	if m.Header.Get("In-Reply-To") != "<a@b>" || m.Header.Get("References") != "<x@y> <a@b>" {
		t.Errorf("threading %q %q", m.Header.Get("In-Reply-To"), m.Header.Get("References"))
	}
	to, err := m.Header.AddressList("To")
	if err != nil || len(to) != 2 || to[0].Name != "Alice Ä" {
		t.Errorf("To %v %v", to, err)
	}
	if m.Header.Get("Content-Transfer-Encoding") != "quoted-printable" || m.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("content headers %v", m.Header)
	}
	got, _ := io.ReadAll(quotedPrintable(m.Body))
	if string(got) != body {
		t.Errorf("body round trip: %q", got)
	}
	sent := selfFolderFiles(t, s, "Sent")
	if len(sent) != 1 || mailstore.Flags(sent[0]) != "S" {
		t.Fatalf("Sent: %v", sent)
	}
	if data, _ := os.ReadFile(sent[0]); string(data) != sub.Content {
		t.Error("the Sent copy differs from what was submitted")
	}
}

func TestSendRefusals(t *testing.T) {
	s, q := selfSession(t)
	for _, tc := range []struct {
		name string
		args sendArgs
		want webrpc.Status
		text string
	}{
		{"foreign from", sendArgs{from: "ceo@example.com", to: "a@example.org"}, webrpc.Forbidden, "ceo@example.com"},
		{"bad to", sendArgs{to: "alice@", body: "x"}, webrpc.Invalid, "To:"},
		{"bad cc", sendArgs{to: "a@example.org", cc: "no domain"}, webrpc.Invalid, "Cc:"},
		{"no rcpt", sendArgs{subject: "x"}, webrpc.Invalid, "no recipients"},
	} {
		r := selfCall(t, s, OpSend, nil, tc.args.list()...)
		if r.Status != tc.want || !strings.Contains(r.Text, tc.text) {
			t.Errorf("%s: %v %q", tc.name, r.Status, r.Text)
		}
	}
	if len(q.Submissions()) != 0 {
		t.Errorf("refused sends reached the queue: %+v", q.Submissions())
	}
	// A sender of Owns is fine, whatever its case.
	if r := selfCall(t, s, OpSend, nil, sendArgs{from: "Info <INFO@example.com>", to: "a@example.org"}.list()...); r.Status != webrpc.OK {
		t.Fatalf("own address: %v %s", r.Status, r.Text)
	}
	if got := q.Take(); len(got) != 1 || got[0].Sender != "info@example.com" {
		t.Fatalf("%+v", got)
	}
	q.SetAnswer(proto.Result{Temporary: true, Text: "disk full"})
	if r := selfCall(t, s, OpSend, nil, sendArgs{to: "a@example.org"}.list()...); r.Status != webrpc.Failed || !strings.Contains(r.Text, "disk full") {
		t.Errorf("temporary: %v %q", r.Status, r.Text)
	}
	q.SetAnswer(proto.Result{Text: "no relay"})
	if r := selfCall(t, s, OpSend, nil, sendArgs{to: "a@example.org"}.list()...); r.Status != webrpc.Invalid || !strings.Contains(r.Text, "no relay") {
		t.Errorf("permanent: %v %q", r.Status, r.Text)
	}
	if n := len(selfFolderFiles(t, s, "Sent")); n != 1 {
		t.Errorf("%d copies in Sent, want only the one that went out", n)
	}
}

func TestSendDataBytes(t *testing.T) {
	s, q := selfSession(t)
	os.WriteFile(filepath.Join(s.Root, "control", "databytes"), []byte("300\n"), 0o644)
	r := selfCall(t, s, OpSend, nil, sendArgs{to: "a@example.org", body: strings.Repeat("y", 400)}.list()...)
	if r.Status != webrpc.Invalid || !strings.Contains(r.Text, "databytes") {
		t.Errorf("too big: %v %q", r.Status, r.Text)
	}
	os.WriteFile(filepath.Join(s.Root, "control", "databytes"), []byte("ten\n"), 0o644)
	r = selfCall(t, s, OpSend, nil, sendArgs{to: "a@example.org", body: "y"}.list()...)
	if r.Status != webrpc.Failed || !strings.Contains(r.Text, "control/databytes") {
		t.Errorf("unparsable databytes: %v %q", r.Status, r.Text)
	}
	if len(q.Submissions()) != 0 {
		t.Error("a message reached the queue")
	}
}

func TestSendAttachments(t *testing.T) {
	s, q := selfSession(t)
	bin := []byte("\x00\x01binary\xff")
	files := []webrpc.File{
		{Name: "C:\\Users\\x\\\"évil\"\r\n.pdf", Type: "application/pdf", Data: bin},
		{Name: "../../etc/passwd", Type: "no such type; <script>", Data: []byte("text")},
	}
	r := selfCall(t, s, OpSend, files, sendArgs{to: "a@example.org", body: "see attached"}.list()...)
	if r.Status != webrpc.OK {
		t.Fatalf("%v %s", r.Status, r.Text)
	}
	parts := selfParts(t, q.Take()[0].Content)
	if len(parts) != 3 {
		t.Fatalf("%d parts", len(parts))
	}
	if parts[0].ctype != "text/plain" || string(parts[0].data) != "see attached\n" {
		t.Errorf("text part %+v", parts[0])
	}
	if parts[1].ctype != "application/pdf" || parts[1].name != "_évil___.pdf" || !bytes.Equal(parts[1].data, bin) {
		t.Errorf("pdf part %q %q %q", parts[1].ctype, parts[1].name, parts[1].data)
	}
	if parts[2].ctype != "application/octet-stream" || parts[2].name != "passwd" {
		t.Errorf("second part %q %q", parts[2].ctype, parts[2].name)
	}
}

// selfParts splits a multipart message into its decoded parts.
func selfParts(t *testing.T, raw string) []outPart {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	var out []outPart
	for {
		p, err := mr.NextPart() // decodes quoted-printable itself
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := decodeCTE(p.Header.Get("Content-Transfer-Encoding"), p)
		if err != nil {
			t.Fatal(err)
		}
		mt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		// Every attached file says so (RFC 2183); the browser test found
		// "outpart" here once, left by a rename.
		if disp, _, _ := mime.ParseMediaType(p.Header.Get("Content-Disposition")); p.FileName() != "" && disp != "attachment" {
			t.Errorf("part %q has Content-Disposition %q, want attachment", p.FileName(), disp)
		}
		out = append(out, outPart{name: p.FileName(), ctype: mt, data: data})
	}
}

func quotedPrintable(r io.Reader) io.Reader {
	b, _ := decodeCTE("quoted-printable", r)
	return bytes.NewReader(b)
}

func TestSendMaxRcpt(t *testing.T) {
	s, q := selfSession(t)
	os.WriteFile(filepath.Join(s.Root, "control", "maxrcpt"), []byte("2\n"), 0o644)
	r := selfCall(t, s, OpSend, nil, sendArgs{to: "a@example.org, b@example.org", bcc: "c@example.org"}.list()...)
	if r.Status != webrpc.Invalid || !strings.Contains(r.Text, "control/maxrcpt") {
		t.Errorf("3 recipients: %v %q", r.Status, r.Text)
	}
	if r := selfCall(t, s, OpSend, nil, sendArgs{to: "a@example.org, A@example.org", bcc: "c@example.org"}.list()...); r.Status != webrpc.OK {
		t.Errorf("2 distinct recipients: %v %q", r.Status, r.Text)
	}
	if got := q.Take(); len(got) != 1 || len(got[0].Rcpts) != 2 {
		t.Errorf("%+v", got)
	}
}

// A kept part named many times is attached once: before, "2,2,2,…" built
// a message with a copy of the part for each (a 64 kB form names it ~30,000
// times) in memory, and only then compared its size with the limit.
func TestSendKeepsEachPartOnce(t *testing.T) {
	s, q := selfSession(t)
	id := appendMsg(t, s, "INBOX", "From: a@example.org\r\nSubject: s\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n"+
		"--z\r\nContent-Type: text/plain\r\n\r\nhi\r\n--z\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=a.pdf\r\n\r\n%PDF-1\r\n--z--\r\n", "")
	keep := strings.TrimSuffix(strings.Repeat("2,", 500), ",")
	r := selfCall(t, s, OpSend, nil, sendArgs{to: "a@example.org", body: "fwd", origFolder: "INBOX", origID: id, mode: "forward", keep: keep}.list()...)
	if r.Status != webrpc.OK {
		t.Fatalf("%v %s", r.Status, r.Text)
	}
	if parts := selfParts(t, q.Take()[0].Content); len(parts) != 2 || parts[1].name != "a.pdf" {
		t.Fatalf("%d parts, want the text and a.pdf once", len(parts))
	}
}

// Attachments that cannot fit are refused before the message is built.
func TestSendAttachmentsOverLimit(t *testing.T) {
	s, _ := selfSession(t)
	os.WriteFile(filepath.Join(s.Root, "control", "databytes"), []byte("10000\n"), 0o644)
	files := []webrpc.File{{Name: "a.bin", Data: bytes.Repeat([]byte("x"), 6000)}, {Name: "b.bin", Data: bytes.Repeat([]byte("y"), 6000)}}
	r := selfCall(t, s, OpSend, files, sendArgs{to: "a@example.org", body: "x"}.list()...)
	if r.Status != webrpc.Invalid || !strings.Contains(r.Text, "attachments") {
		t.Fatalf("%v %s", r.Status, r.Text)
	}
}

// 10,000 recipients in To are refused for control/maxrcpt before the
// message is built or a kept part read: before, the session built a
// message with a To field of 10,000 addresses and then answered that it
// was over databytes ("remove attachments"), which was not the problem
// (security review of issue 15).
func TestSendManyRecipientsRefusedFirst(t *testing.T) {
	s, q := selfSession(t)
	os.WriteFile(filepath.Join(s.Root, "control", "databytes"), []byte("20000\n"), 0o644)
	var to []string
	for i := range 10000 {
		to = append(to, fmt.Sprintf("user%d@example.org", i))
	}
	r := selfCall(t, s, OpSend, nil, sendArgs{to: strings.Join(to, ", "), body: "x",
		origFolder: "INBOX", origID: "no-such-message", mode: "forward", keep: "2"}.list()...)
	if r.Status != webrpc.Invalid || !strings.Contains(r.Text, "10000 recipients") || !strings.Contains(r.Text, "control/maxrcpt") {
		t.Fatalf("10,000 recipients: %v %q, want Invalid naming control/maxrcpt", r.Status, r.Text)
	}
	if got := q.Take(); len(got) != 0 {
		t.Fatalf("submitted: %d", len(got))
	}
}
