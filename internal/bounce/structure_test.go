package bounce

import (
	"bufio"
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"regexp"
	"strings"
	"testing"
)

// parsed is a bounce taken apart by the standard library's parsers.
type parsed struct {
	header mail.Header
	types  []string // media type of each part
	cte    []string // Content-Transfer-Encoding of each part
	bodies [][]byte // raw body of each part (not transfer-decoded)
	text   string   // first part
	dsn    []textproto.MIMEHeader
}

var statusRE = regexp.MustCompile(`^[245]\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})$`)

// parseBounce checks the invariants every bounce must meet and returns its
// parts. It uses t.Errorf/Fatalf so the fuzz target and the unit tests
// share the same checks.
func parseBounce(t testing.TB, out []byte, nrcpt int) *parsed {
	t.Helper()
	if bytes.IndexByte(out, '\r') >= 0 {
		t.Fatalf("output contains CR:\n%q", out)
	}
	if bytes.IndexByte(out, 0) >= 0 {
		t.Fatalf("output contains NUL:\n%q", out)
	}
	for i, line := range bytes.Split(out, []byte("\n")) {
		if len(line) > maxLine {
			t.Fatalf("line %d is %d bytes long", i+1, len(line))
		}
	}
	msg, err := mail.ReadMessage(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("net/mail cannot read the bounce: %v\n%s", err, out)
	}
	p := &parsed{header: msg.Header}
	for _, h := range []string{"Date", "From", "To", "Message-Id", "Auto-Submitted", "Mime-Version"} {
		if msg.Header.Get(h) == "" {
			t.Errorf("header %s missing", h)
		}
	}
	if got := msg.Header.Get("Subject"); got != "failure notice" {
		t.Errorf("Subject = %q", got)
	}
	if _, err := msg.Header.Date(); err != nil {
		t.Errorf("Date: %v", err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/report" || params["report-type"] != "delivery-status" || params["boundary"] == "" {
		t.Fatalf("Content-Type = %q (%v)", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("part %d: %v\n%s", len(p.types)+1, err, out)
		}
		body, err := io.ReadAll(part)
		if err != nil {
			t.Fatalf("part %d body: %v", len(p.types)+1, err)
		}
		ptype, _, err := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if err != nil {
			t.Fatalf("part %d Content-Type %q: %v", len(p.types)+1, part.Header.Get("Content-Type"), err)
		}
		p.types = append(p.types, ptype)
		p.cte = append(p.cte, part.Header.Get("Content-Transfer-Encoding"))
		p.bodies = append(p.bodies, body)
	}
	if len(p.types) != 3 || p.types[0] != "text/plain" || p.types[1] != "message/delivery-status" ||
		(p.types[2] != "message/rfc822" && p.types[2] != "text/rfc822-headers") {
		t.Fatalf("parts = %q, want text/plain, message/delivery-status, message/rfc822 or text/rfc822-headers", p.types)
	}
	p.text = string(p.bodies[0])
	checkText(t, p.text, nrcpt)
	p.dsn = checkDSN(t, p.bodies[1], nrcpt)
	if !bytes.HasPrefix(p.bodies[2], []byte("Return-Path: <")) && p.cte[2] != "quoted-printable" {
		t.Errorf("third part does not start with Return-Path: %q", truncate(string(p.bodies[2]), 80))
	}
	return p
}

// checkText checks the QSBMF layout: intro paragraph, one paragraph per
// recipient starting "<rcpt>:", the break paragraph starting with "-".
func checkText(t testing.TB, text string, nrcpt int) {
	t.Helper()
	if !strings.HasPrefix(text, "Hi. This is the qmail-send program at") {
		t.Errorf("text part starts %q", truncate(text, 80))
	}
	paras := strings.Split(strings.TrimSuffix(text, "\n"), "\n\n")
	if len(paras) != nrcpt+2 {
		t.Fatalf("text part has %d paragraphs, want %d:\n%s", len(paras), nrcpt+2, text)
	}
	for _, para := range paras[1 : nrcpt+1] {
		first, _, _ := strings.Cut(para, "\n")
		if !strings.HasPrefix(first, "<") || !strings.HasSuffix(first, ">:") {
			t.Errorf("recipient paragraph starts %q", first)
		}
	}
	if last := paras[len(paras)-1]; !strings.HasPrefix(last, "--- Below this line is") || strings.Contains(last, "\n") {
		t.Errorf("break paragraph = %q", last)
	}
}

// checkDSN parses the RFC 3464 fields: one per-message block, then nrcpt
// per-recipient blocks, each with the required fields.
func checkDSN(t testing.TB, body []byte, nrcpt int) []textproto.MIMEHeader {
	t.Helper()
	if !isASCII(string(body)) {
		t.Errorf("delivery-status part is not ASCII: %q", body)
	}
	var blocks []textproto.MIMEHeader
	for _, raw := range strings.Split(strings.TrimSuffix(string(body), "\n"), "\n\n") {
		h, err := textproto.NewReader(bufio.NewReader(strings.NewReader(raw + "\n\n"))).ReadMIMEHeader()
		if err != nil {
			t.Fatalf("delivery-status block %q: %v", raw, err)
		}
		blocks = append(blocks, h)
	}
	if len(blocks) != nrcpt+1 {
		t.Fatalf("delivery-status has %d recipient blocks, want %d:\n%s", len(blocks)-1, nrcpt, body)
	}
	if !strings.HasPrefix(blocks[0].Get("Reporting-Mta"), "dns; ") {
		t.Errorf("Reporting-MTA = %q", blocks[0].Get("Reporting-Mta"))
	}
	for _, b := range blocks[1:] {
		if fr := b.Get("Final-Recipient"); !strings.HasPrefix(fr, "rfc822;") && !strings.HasPrefix(fr, "utf-8;") {
			t.Errorf("Final-Recipient = %q", fr)
		}
		if b.Get("Action") != "failed" {
			t.Errorf("Action = %q", b.Get("Action"))
		}
		if !statusRE.MatchString(b.Get("Status")) {
			t.Errorf("Status = %q", b.Get("Status"))
		}
	}
	return blocks
}

func TestStructure(t *testing.T) {
	tooBig := baseParams()
	tooBig.MaxOriginal = 100
	tests := []struct {
		name      string
		p         Params
		third     string
		wantBreak string
	}{
		{"normal", baseParams(), "message/rfc822", "--- Below this line is a copy of the message."},
		{"double", doubleParams(), "message/rfc822", "--- Below this line is the original bounce."},
		{"toobig", tooBig, "text/rfc822-headers", "--- Below this line is the header of the message; the message was 258 bytes, more than the limit of 100."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := render(t, tt.p, testOriginal)
			p := parseBounce(t, out, len(tt.p.Failures))
			if p.types[2] != tt.third {
				t.Errorf("third part is %s, want %s", p.types[2], tt.third)
			}
			if !strings.HasSuffix(p.text, tt.wantBreak+"\n") {
				t.Errorf("text part ends %q, want %q", p.text[max(0, len(p.text)-120):], tt.wantBreak)
			}
			if tt.p.Double != strings.Contains(p.text, "but the bounce bounced!") {
				t.Errorf("double = %v but text is\n%s", tt.p.Double, p.text)
			}
			for i, f := range tt.p.Failures {
				want, _ := Status(f.Text)
				if got := p.dsn[i+1].Get("Status"); got != want {
					t.Errorf("recipient %d Status = %q, want %q", i, got, want)
				}
				if got := p.dsn[i+1].Get("Final-Recipient"); got != "rfc822; "+f.Rcpt {
					t.Errorf("recipient %d Final-Recipient = %q", i, got)
				}
				if got := p.dsn[i+1].Get("Remote-Mta") != ""; got != (f.Remote != "") {
					t.Errorf("recipient %d Remote-MTA present = %v", i, got)
				}
			}
			returnPath := "Return-Path: <" + tt.p.OrigSender + ">\n"
			wantThird := returnPath + testOriginal
			if tt.third == "text/rfc822-headers" {
				wantThird = returnPath + testOriginal[:strings.Index(testOriginal, "\n\n")+1]
			}
			if string(p.bodies[2]) != wantThird {
				t.Errorf("third part =\n%s\nwant\n%s", p.bodies[2], wantThird)
			}
		})
	}
	// The normal bounce's statuses, spelled out: local (#5.1.1), remote
	// reply 550 5.1.1.
	p := parseBounce(t, render(t, baseParams(), testOriginal), 2)
	if p.dsn[1].Get("Status") != "5.1.1" || p.dsn[2].Get("Status") != "5.1.1" ||
		p.dsn[2].Get("Diagnostic-Code") != "smtp; 550 5.1.1 <bob@remote.example>: Recipient address rejected: User unknown" ||
		p.dsn[2].Get("Remote-Mta") != "dns; [192.0.2.1]" {
		t.Errorf("normal bounce DSN = %v", p.dsn)
	}
}

// decodeThird returns the third part's content, transfer-decoded.
func decodeThird(t testing.TB, p *parsed) []byte {
	t.Helper()
	if p.cte[2] != "quoted-printable" {
		return p.bodies[2]
	}
	dec, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(p.bodies[2])))
	if err != nil {
		t.Fatalf("quoted-printable third part: %v\n%s", err, p.bodies[2])
	}
	return dec
}
