package milterclient

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	milter "github.com/d--j/go-milter"
)

// Bounds: a body chunk as the protocol's default buffer holds
// (MILTER_CHUNK_SIZE 65535), and a header field as smtpd's header filter
// holds one (longer ones are sent cut).
const (
	chunkSize = 65535
	maxField  = 64 << 10
)

// message is the state of one message on its way to the milter: the
// header field being collected, the body chunk being filled, and the
// decision, once there is one.
type message struct {
	inBody   bool
	field    []byte // the header field being collected (LF line ends)
	chunk    []byte // body bytes with CRLF, up to chunkSize
	lastCR   bool
	headers  map[string]int // how many fields of each name (lower case) were sent
	verdict  Verdict        // not Continue: decided before the end
	leadSpc  bool           // the milter wants the space after the colon (SMFIP_HDR_LEADSPC)
	sentBody bool
}

// Data starts a message: SMFIC_DATA, after which Write sends the message
// as the client sent it.
func (s *Session) Data() Verdict {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msg = &message{headers: map[string]int{}, leadSpc: s.cs.ProtocolOption(milter.OptHeaderLeadingSpace)}
	v := s.verdict(s.cs.DataStart())
	if v.Kind != Continue {
		s.msg.verdict = v
	}
	return v
}

// Write takes the message in its stored form (LF line ends, dots
// unstuffed), in pieces of any size: header fields go one by one as they
// end, the body in chunks with CRLF line ends (what Sendmail and Postfix
// send). Once the milter has decided, the rest is not sent. The error is
// the milter's failure, which stops the writes.
func (s *Session) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.msg
	n := len(p)
	for len(p) > 0 && m != nil && m.verdict.Kind == Continue {
		if m.inBody {
			s.body(p)
			break
		}
		line := p
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			line = p[:i+1]
		}
		p = p[len(line):]
		s.headerBytes(line)
	}
	if m != nil && m.verdict.Kind == Failed {
		return n, m.verdict.Err
	}
	return n, nil
}

// headerBytes takes a piece of a header-section line, like smtpd's
// header filter: a field ends where a line starts with neither space nor
// tab; an empty line, or a line that is no field at all (no colon in the
// first line of a field), ends the header section.
func (s *Session) headerBytes(b []byte) {
	m := s.msg
	atLineStart := len(m.field) == 0 || m.field[len(m.field)-1] == '\n'
	if atLineStart && (len(m.field) == 0 || (b[0] != ' ' && b[0] != '\t')) {
		s.sendField()
		if m.verdict.Kind != Continue {
			return
		}
		if b[0] == '\n' || !looksLikeField(b) {
			s.endHeader()
			if b[0] != '\n' && m.verdict.Kind == Continue {
				// Not a field: Postfix takes it as the body's start.
				s.body(b)
			}
			return
		}
	}
	if len(m.field) < maxField {
		m.field = append(m.field, b[:min(len(b), maxField-len(m.field))]...)
	}
}

// looksLikeField reports whether the start of a line can start a field:
// a name of printable characters, then a colon, before any space (or the
// line is too short to tell yet, which the next piece decides: smtpd
// writes whole lines to its checks, so that does not happen in practice).
func looksLikeField(b []byte) bool {
	for i, c := range b {
		switch {
		case c == ':':
			return i > 0
		case c <= ' ' || c > '~':
			return false
		}
	}
	return true
}

// sendField sends the collected field, if any: its name, and its value
// with the line breaks of folding as LF and the last one gone (what
// Sendmail sends), without the one space after the colon unless the
// milter asked for it.
func (s *Session) sendField() {
	m := s.msg
	if len(m.field) == 0 {
		return
	}
	f := strings.TrimSuffix(string(m.field), "\n")
	m.field = m.field[:0]
	name, value, _ := strings.Cut(f, ":")
	name = strings.TrimRight(name, " \t")
	if !m.leadSpc {
		value = strings.TrimPrefix(value, " ")
	}
	m.headers[strings.ToLower(name)]++
	if v := s.verdict(s.cs.HeaderField(name, value, nil)); v.Kind != Continue {
		m.verdict = v
	}
}

func (s *Session) endHeader() {
	m := s.msg
	m.inBody = true
	if v := s.verdict(s.cs.HeaderEnd()); v.Kind != Continue {
		m.verdict = v
	}
}

// body adds body bytes, LF turned into CRLF, sending full chunks.
func (s *Session) body(p []byte) {
	m := s.msg
	for _, c := range p {
		if c == '\n' && !m.lastCR {
			m.chunk = append(m.chunk, '\r')
		}
		m.lastCR = c == '\r'
		m.chunk = append(m.chunk, c)
		if len(m.chunk) >= chunkSize-1 {
			s.sendChunk()
			if m.verdict.Kind != Continue {
				return
			}
		}
	}
}

func (s *Session) sendChunk() {
	m := s.msg
	m.sentBody = true
	v := s.verdict(s.cs.BodyChunk(m.chunk))
	m.chunk = m.chunk[:0]
	if v.Kind != Continue {
		m.verdict = v
	}
}

// Result is a milter's decision on a message.
type Result struct {
	Verdict Verdict
	// Headers are the fields the milter added (SMFIR_ADDHEADER,
	// SMFIR_INSHEADER, and SMFIR_CHGHEADER for a field the message does
	// not have, which Sendmail adds), LF line ends, for the top of the
	// message: goqmail adds header lines only there.
	Headers []byte
	// Quarantine is the milter's reason to quarantine (SMFIR_QUARANTINE):
	// the message goes to the Junk folder. "" when none.
	Quarantine string
	// Ignored are modifications that cannot be made to a message already
	// on its way to the queue and are left out: changing or deleting a
	// field the client sent. Logged.
	Ignored []string
	// Unsupported are modifications whose loss would change what the
	// milter decided (a new body, new recipients or sender): the message
	// is refused for now (451) rather than delivered unmodified.
	Unsupported []string
}

// End sends what is left of the message and SMFIC_BODYEOB and reads the
// milter's modifications and decision. It gives up when ctx ends.
func (s *Session) End(ctx context.Context) Result {
	type answer struct {
		acts []milter.ModifyAction
		v    Verdict
	}
	done := make(chan answer, 1)
	if dl, ok := ctx.Deadline(); ok {
		defer s.deadline(dl)()
	}
	go func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		m := s.msg
		if m == nil {
			done <- answer{v: Verdict{Kind: Failed, Err: fmt.Errorf("no message")}}
			return
		}
		if m.verdict.Kind == Continue {
			if !m.inBody {
				s.sendField()
				if m.verdict.Kind == Continue {
					s.endHeader()
				}
			}
			// The library ends a message only after a body chunk:
			// an empty body is sent as an empty chunk.
			if m.verdict.Kind == Continue && (len(m.chunk) > 0 || !m.sentBody) {
				s.sendChunk()
			}
		}
		if m.verdict.Kind != Continue {
			done <- answer{v: m.verdict}
			return
		}
		acts, a, err := s.cs.End()
		done <- answer{acts: acts, v: s.verdict(a, err)}
	}()
	var ans answer
	select {
	case ans = <-done:
	case <-ctx.Done():
		if s.conn != nil {
			s.conn.Close()
		}
		return Result{Verdict: Verdict{Kind: Failed, Err: errGaveUp}}
	}
	res := Result{Verdict: ans.v}
	if ans.v.Kind == Failed || ans.v.Kind == Reject {
		return res
	}
	s.modifications(ans.acts, &res)
	return res
}

// modifications sorts the milter's changes into what goqmail does with
// them (Result's fields).
func (s *Session) modifications(acts []milter.ModifyAction, res *Result) {
	for _, a := range acts {
		switch a.Type {
		case milter.ActionAddHeader, milter.ActionInsertHeader:
			s.addHeader(res, a.HeaderName, a.HeaderValue)
		case milter.ActionChangeHeader:
			n := s.msg.headers[strings.ToLower(a.HeaderName)]
			switch {
			case a.HeaderValue != "" && int(a.HeaderIndex) > n:
				s.addHeader(res, a.HeaderName, a.HeaderValue)
			case a.HeaderValue == "":
				res.Ignored = append(res.Ignored, fmt.Sprintf("delete %s #%d", a.HeaderName, a.HeaderIndex))
			default:
				res.Ignored = append(res.Ignored, fmt.Sprintf("change %s #%d", a.HeaderName, a.HeaderIndex))
			}
		case milter.ActionQuarantine:
			res.Quarantine = a.Reason
			if res.Quarantine == "" {
				res.Quarantine = "quarantined"
			}
		case milter.ActionReplaceBody:
			res.Unsupported = append(res.Unsupported, "replace the body")
		case milter.ActionAddRcpt:
			res.Unsupported = append(res.Unsupported, "add recipient "+a.Rcpt)
		case milter.ActionDelRcpt:
			res.Unsupported = append(res.Unsupported, "remove recipient "+a.Rcpt)
		case milter.ActionChangeFrom:
			res.Unsupported = append(res.Unsupported, "change the sender to "+a.From)
		}
	}
}

// addHeader appends a field the milter added, if it can go into a
// message: a field name of printable characters without colon, a value
// without control characters other than tab. A line break (CRLF or LF;
// the protocol sends LF) not followed by a space or tab gets a tab, so
// the value stays one field (libmilter leaves folding to the milter, and
// a broken one would otherwise start a field of its own). A field that
// cannot be used is left out and noted.
func (s *Session) addHeader(res *Result, name, value string) {
	value = strings.TrimRight(strings.ReplaceAll(value, "\r\n", "\n"), "\n")
	ok := name != ""
	for i := 0; i < len(name); i++ {
		if name[i] <= ' ' || name[i] > '~' || name[i] == ':' {
			ok = false
		}
	}
	var v strings.Builder
	for i := 0; i < len(value); i++ {
		c := value[i]
		switch {
		case c == '\n':
			v.WriteByte(c)
			if i+1 < len(value) && value[i+1] != ' ' && value[i+1] != '\t' {
				v.WriteByte('\t')
			}
		case c != '\t' && (c < ' ' || c == 0x7f):
			ok = false
		default:
			v.WriteByte(c)
		}
	}
	if !ok {
		res.Ignored = append(res.Ignored, fmt.Sprintf("malformed header field %q", name))
		return
	}
	sep := " "
	if value == "" || value[0] == ' ' || value[0] == '\t' {
		sep = ""
	}
	res.Headers = append(res.Headers, name+":"+sep+v.String()+"\n"...)
}
