package webmbox

import (
	"strconv"
	"strings"

	"goqmail/internal/mimeview"
	"goqmail/internal/webrpc"
)

// compose [mode, folder, id] → the prefilled form (ops.go). The values
// are for the user to edit; send checks them again.

func init() {
	register(OpCompose, (*Session).prefill)
}

// maxQuote bounds the original text quoted or forwarded, so that the
// form (sent back as one webrpc argument, webrpc.MaxArg) has room for
// what the user writes.
const maxQuote = 512 << 10

// maxRefs bounds the message ids of References: RFC 5322 3.6.4 lets a
// long thread's list be trimmed; the first (the thread's root) and the
// most recent stay.
const maxRefs = 30

func (s *Session) prefill(req *webrpc.Request) *webrpc.Response {
	mode, folder, id := req.Arg(0), req.Arg(1), req.Arg(2)
	f := form{from: s.Address}
	switch mode {
	case "new":
	case "reply", "replyall", "forward", "draft":
		raw, _, _, resp := s.readMessage(folder, id, mimeview.MaxMessage)
		if resp != nil {
			return resp
		}
		v := mimeview.Parse(raw, mimeview.Options{TextOnly: true})
		switch mode {
		case "reply", "replyall":
			s.reply(&f, v, mode == "replyall")
		case "forward":
			s.forward(&f, v)
		case "draft":
			s.prefillDraft(&f, v)
		}
	default:
		return webrpc.Errorf(webrpc.Invalid, "compose mode %q: want new, reply, replyall, forward or draft", mode)
	}
	rows := [][]string{
		{"from", f.from}, {"to", f.to}, {"cc", f.cc}, {"bcc", f.bcc}, {"subject", f.subject},
		{"body", f.body}, {"inreplyto", f.inReplyTo}, {"references", f.references},
	}
	for _, a := range f.atts {
		rows = append(rows, []string{"att", a.ID, a.Type, a.Name, strconv.Itoa(a.Size)})
	}
	for _, a := range s.fromChoices() {
		rows = append(rows, []string{"fromchoice", a})
	}
	return &webrpc.Response{Rows: rows}
}

type form struct {
	from, to, cc, bcc, subject, body, inReplyTo, references string
	atts                                                    []mimeview.Part
}

// fromChoices: the user's own address, then the others auth lets them
// send from, each once.
func (s *Session) fromChoices() []string {
	var out []string
	seen := map[string]bool{}
	for _, a := range append([]string{s.Address}, s.Owns...) {
		a = strings.TrimSpace(a)
		if a == "" || seen[strings.ToLower(a)] {
			continue
		}
		seen[strings.ToLower(a)] = true
		out = append(out, a)
	}
	return out
}

func (s *Session) own(addr string) bool {
	for _, a := range s.fromChoices() {
		if strings.EqualFold(a, addr) {
			return true
		}
	}
	return false
}

// reply fills a reply (RFC 5322 3.6.4): to the Reply-To, else the From
// (else, replying to one's own message, its To); reply-all adds the
// original To and Cc as Cc, less the user's own addresses.
func (s *Session) reply(f *form, v *mimeview.View, all bool) {
	to := mimeview.ParseAddresses(v.RawReplyTo)
	if len(to) == 0 {
		to = mimeview.ParseAddresses(v.RawFrom)
		if len(to) > 0 && s.allOwn(to) {
			to = mimeview.ParseAddresses(v.RawTo)
		}
	}
	recips := append(mimeview.ParseAddresses(v.RawTo), mimeview.ParseAddresses(v.RawCc)...)
	// Answer from the address the message was sent to, when it is ours.
	for _, a := range recips {
		if s.own(a.Addr) {
			f.from = a.Addr
			break
		}
	}
	seen := map[string]bool{}
	f.to = s.addrList(to, seen, false)
	if all {
		f.cc = s.addrList(recips, seen, true)
	}
	f.subject = prefixOnce(v.Subject, "Re: ", "re:")
	f.inReplyTo = v.MessageID
	f.references = references(v)
	attribution := v.From + " wrote:"
	if !v.Date.IsZero() {
		attribution = "On " + v.Date.Format("Mon, 2 Jan 2006 15:04 -0700") + ", " + attribution
	}
	f.body = "\n\n" + attribution + "\n" + quote(v.Text)
}

func (s *Session) allOwn(as []mimeview.Address) bool {
	for _, a := range as {
		if !s.own(a.Addr) {
			return false
		}
	}
	return true
}

// addrList formats addresses for a form field, each once (seen is shared
// between To and Cc), leaving out the user's own when dropOwn.
func (s *Session) addrList(as []mimeview.Address, seen map[string]bool, dropOwn bool) string {
	var out []string
	for _, a := range as {
		key := strings.ToLower(a.Addr)
		if a.Addr == "" || seen[key] || dropOwn && s.own(a.Addr) {
			continue
		}
		seen[key] = true
		out = append(out, a.String())
	}
	return strings.Join(out, ", ")
}

// references: the parent's References (or, without them, its
// In-Reply-To when that is one id) followed by its Message-ID (RFC 5322
// 3.6.4), trimmed to maxRefs ids keeping the first.
func references(v *mimeview.View) string {
	var ids []string
	switch {
	case v.References != "":
		ids = strings.Fields(v.References)
	case v.InReplyTo != "" && len(strings.Fields(v.InReplyTo)) == 1:
		ids = []string{v.InReplyTo}
	}
	if v.MessageID != "" {
		ids = append(ids, strings.Fields(v.MessageID)[0])
	}
	if len(ids) > maxRefs {
		ids = append(ids[:1], ids[len(ids)-maxRefs+1:]...)
	}
	return strings.Join(ids, " ")
}

// prefixOnce puts prefix before subject unless it starts with one of the
// given lower-case forms already ("Re: Re: Re:" helps no one).
func prefixOnce(subject, prefix string, have ...string) string {
	l := strings.ToLower(strings.TrimSpace(subject))
	for _, h := range have {
		if strings.HasPrefix(l, h) {
			return subject
		}
	}
	return prefix + subject
}

// quote prefixes each line of text with "> " (">" alone on an empty
// line, so that no line ends in a space).
func quote(text string) string {
	text = clip(strings.ReplaceAll(text, "\r\n", "\n"))
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			b.WriteString(">\n")
		} else {
			b.WriteString("> " + line + "\n")
		}
	}
	return b.String()
}

// forward fills a forward: "Fwd: ", the original's header summary and
// text inline, its attachments offered to be sent again.
func (s *Session) forward(f *form, v *mimeview.View) {
	f.subject = prefixOnce(v.Subject, "Fwd: ", "fwd:", "fw:")
	var b strings.Builder
	b.WriteString("\n\n---------- Forwarded message ----------\n")
	b.WriteString("From: " + v.From + "\n")
	if !v.Date.IsZero() {
		b.WriteString("Date: " + v.Date.Format("Mon, 2 Jan 2006 15:04:05 -0700") + "\n")
	}
	b.WriteString("Subject: " + v.Subject + "\n")
	b.WriteString("To: " + v.To + "\n")
	if v.Cc != "" {
		b.WriteString("Cc: " + v.Cc + "\n")
	}
	b.WriteString("\n" + clip(strings.ReplaceAll(v.Text, "\r\n", "\n")) + "\n")
	f.body = b.String()
	f.atts = v.Attachments
}

// draft reopens a stored draft as it was saved.
func (s *Session) prefillDraft(f *form, v *mimeview.View) {
	if from := mimeview.ParseAddresses(v.RawFrom); len(from) > 0 && s.own(from[0].Addr) {
		f.from = from[0].Addr
	}
	f.to = s.addrList(mimeview.ParseAddresses(v.RawTo), map[string]bool{}, false)
	f.cc = s.addrList(mimeview.ParseAddresses(v.RawCc), map[string]bool{}, false)
	f.bcc = s.addrList(mimeview.ParseAddresses(v.RawBcc), map[string]bool{}, false)
	f.subject = v.Subject
	f.body = clip(strings.ReplaceAll(v.Text, "\r\n", "\n"))
	f.inReplyTo = v.InReplyTo
	f.references = v.References
	f.atts = v.Attachments
}

// clip cuts a text to maxQuote bytes at a line's end.
func clip(s string) string {
	if len(s) <= maxQuote {
		return s
	}
	s = s[:maxQuote]
	if i := strings.LastIndexByte(s, '\n'); i > 0 {
		return s[:i+1] + "[...]\n"
	}
	return cutCell(s)
}
