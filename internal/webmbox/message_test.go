package webmbox

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"goqmail/internal/logline"
	"goqmail/internal/maildir"
	"goqmail/internal/mailstore"
	"goqmail/internal/mimeview"
	"goqmail/internal/webrpc"
)

// newMimeSession is a session on a real Maildir++ (INBOX and Drafts)
// in a temporary directory.
func newMimeSession(t *testing.T) *Session {
	t.Helper()
	root := filepath.Join(t.TempDir(), "Maildir")
	for _, d := range []string{root, filepath.Join(root, ".Drafts")} {
		if err := maildir.Make(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	st, err := mailstore.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	return &Session{Store: st, Login: "bob@example.com", Address: "bob@example.com",
		Owns: []string{"bob@example.com", "Robert@Example.com", "postmaster@example.com"}, Kind: "virtual",
		Log: logline.NewTo(io.Discard, "webmbox")}
}

func appendMsg(t *testing.T, s *Session, folder, raw, flags string) string {
	t.Helper()
	id, err := s.Store.Append(folder, []byte(raw), flags)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// rowsByTag collects the tagged rows of a response.
func rowsByTag(resp *webrpc.Response) map[string][][]string {
	m := map[string][][]string{}
	for _, r := range resp.Rows {
		m[r[0]] = append(m[r[0]], r[1:])
	}
	return m
}

func one(t *testing.T, m map[string][][]string, tag string) string {
	t.Helper()
	if len(m[tag]) != 1 || len(m[tag][0]) != 1 {
		t.Fatalf("rows %q: %v", tag, m[tag])
	}
	return m[tag][0][0]
}

func mcall(t *testing.T, s *Session, op string, args ...string) *webrpc.Response {
	t.Helper()
	resp := s.Handle(&webrpc.Request{Op: op, Args: args})
	if resp.Status != webrpc.OK {
		t.Fatalf("%s %v: %v %s", op, args, resp.Status, resp.Text)
	}
	// What the front receives: the response must cross webrpc intact.
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(webrpc.WriteResponse(pw, resp)) }()
	_, err := webrpc.ReadResponse(ipcReader(pr))
	pr.Close()
	if err != nil {
		t.Fatalf("%s: response does not cross webrpc: %v", op, err)
	}
	return resp
}

const mixedMsg = "From: =?utf-8?Q?Ren=C3=A9?= <rene@example.org>\r\n" +
	"To: bob@example.com, carol@example.org\r\nCc: Robert@example.com, dave@example.org\r\n" +
	"Subject: =?utf-8?Q?caf=C3=A9?= plans\r\nDate: Mon, 7 Dec 2026 06:00:00 +0000\r\n" +
	"Message-ID: <m1@example.org>\r\nReferences: <r0@example.org>\r\nIn-Reply-To: <r0@example.org>\r\n" +
	"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
	"--b\r\nContent-Type: multipart/related; boundary=r\r\n\r\n" +
	"--r\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" +
	"<p onclick=\"alert(1)\">Hello <b>Bob</b></p><img src=\"cid:pic@x\"><img src=\"https://tracker.example/t.gif\"><script>alert(2)</script>\r\n" +
	"--r\r\nContent-Type: image/png\r\nContent-ID: <pic@x>\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--r--\r\n" +
	"--b\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\nContent-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9%E2%80%AE.pdf\r\n" +
	"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n"

func TestMessageOp(t *testing.T) {
	s := newMimeSession(t)
	id := appendMsg(t, s, mailstore.Inbox, mixedMsg, "")
	resp := mcall(t, s, OpMessage, mailstore.Inbox, id, "0")
	m := rowsByTag(resp)
	if one(t, m, "from") != "René <rene@example.org>" || one(t, m, "subject") != "café plans" ||
		one(t, m, "date") != "1796623200" || one(t, m, "messageid") != "<m1@example.org>" {
		t.Errorf("headers: %v", resp.Rows[:8])
	}
	if one(t, m, "flags") != "S" {
		t.Errorf("flags %q after reading, want S", one(t, m, "flags"))
	}
	p, _ := s.Store.Path(mailstore.Inbox, id)
	if mailstore.Flags(p) != "S" {
		t.Errorf("file %s not marked seen", p)
	}
	html := one(t, m, "html")
	if !strings.Contains(html, `<img src="part:1.2"/>`) || strings.Contains(html, "tracker") ||
		strings.Contains(html, "alert") || !strings.Contains(html, "<b>Bob</b>") {
		t.Errorf("html: %s", html)
	}
	if one(t, m, "text") != "Hello Bob" || one(t, m, "remoteimages") != "1" {
		t.Errorf("text %q remoteimages %v", one(t, m, "text"), m["remoteimages"])
	}
	want := [][]string{{"1.2", "image/png", "", "8", "1", "pic@x"}, {"2", "application/pdf", "résumé.pdf", "9", "0", ""}}
	if len(m["att"]) != 2 || strings.Join(m["att"][0], "|") != strings.Join(want[0], "|") || strings.Join(m["att"][1], "|") != strings.Join(want[1], "|") {
		t.Errorf("att rows %q, want %q", m["att"], want)
	}
	if len(m["header"]) != 10 || m["header"][0][0] != "From" {
		t.Errorf("header rows %v", m["header"])
	}
	// images=1 keeps the remote image, says nothing is blocked.
	m = rowsByTag(mcall(t, s, OpMessage, mailstore.Inbox, id, "1"))
	if !strings.Contains(one(t, m, "html"), "https://tracker.example/t.gif") || m["remoteimages"] != nil {
		t.Errorf("images=1: %s %v", one(t, m, "html"), m["remoteimages"])
	}
}

func TestMessageOpRefuses(t *testing.T) {
	s := newMimeSession(t)
	id := appendMsg(t, s, mailstore.Inbox, mixedMsg, "")
	for _, c := range []struct {
		op   string
		args []string
		want webrpc.Status
	}{
		{OpMessage, []string{mailstore.Inbox, id, "yes"}, webrpc.Invalid},
		{OpMessage, []string{mailstore.Inbox, "../../etc/passwd"}, webrpc.Invalid},
		{OpMessage, []string{"../x", id}, webrpc.Invalid},
		{OpMessage, []string{mailstore.Inbox, "nosuch"}, webrpc.NotFound},
		{OpMessage, []string{"Nosuch", id}, webrpc.NotFound},
		{OpPart, []string{mailstore.Inbox, id, "9"}, webrpc.NotFound},
		{OpPart, []string{mailstore.Inbox, id, ""}, webrpc.Invalid},
		{OpRaw, []string{mailstore.Inbox, "nosuch"}, webrpc.NotFound},
		{OpCompose, []string{"bogus"}, webrpc.Invalid},
		{OpCompose, []string{"reply", mailstore.Inbox, "nosuch"}, webrpc.NotFound},
	} {
		if resp := s.Handle(&webrpc.Request{Op: c.op, Args: c.args}); resp.Status != c.want {
			t.Errorf("%s %q: %v %s, want %v", c.op, c.args, resp.Status, resp.Text, c.want)
		}
	}
}

func TestPartAndRawOps(t *testing.T) {
	s := newMimeSession(t)
	id := appendMsg(t, s, mailstore.Inbox, mixedMsg, "")
	resp := mcall(t, s, OpPart, mailstore.Inbox, id, "2")
	m := rowsByTag(resp)
	if string(resp.Blob) != "%PDF-1.4\n" || one(t, m, "type") != "application/pdf" || one(t, m, "name") != "résumé.pdf" {
		t.Errorf("part 2: %q %v", resp.Blob, resp.Rows)
	}
	resp = mcall(t, s, OpPart, mailstore.Inbox, id, "1.1")
	if one(t, rowsByTag(resp), "type") != "text/html; charset=utf-8" || !strings.Contains(string(resp.Blob), "<script>") {
		t.Errorf("part 1.1 is served as stored, typed: %v", resp.Rows)
	}
	resp = mcall(t, s, OpRaw, mailstore.Inbox, id)
	if string(resp.Blob) != mixedMsg {
		t.Errorf("raw differs")
	}
	// part and raw do not mark the message seen; message does.
	p, _ := s.Store.Path(mailstore.Inbox, id)
	if mailstore.Flags(p) != "" {
		t.Errorf("flags %q after part and raw", mailstore.Flags(p))
	}
}

// Every message of the hostile corpus goes through the ops without a
// failure, and what message returns crosses webrpc.
func TestHostileCorpusThroughOps(t *testing.T) {
	s := newMimeSession(t)
	files, err := mimeview.CorpusFiles()
	if err != nil || len(files) < 30 {
		t.Fatalf("corpus: %d files, %v", len(files), err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		id := appendMsg(t, s, mailstore.Inbox, string(raw), "")
		m := rowsByTag(mcall(t, s, OpMessage, mailstore.Inbox, id, "0"))
		for i, att := range m["att"] {
			if i < 20 {
				mcall(t, s, OpPart, mailstore.Inbox, id, att[0])
			}
		}
		for _, mode := range []string{"reply", "replyall", "forward", "draft"} {
			mcall(t, s, OpCompose, mode, mailstore.Inbox, id)
		}
	}
}
