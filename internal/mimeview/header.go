package mimeview

// Header fields and their parameters, read leniently: a reader shows
// what a broken header still says.

import (
	"bytes"
	"mime"
	"net/url"
	"strconv"
	"strings"
)

// fields parses a header block leniently: lines that are not a field or
// a continuation are skipped (RFC 5322 2.2), and only the first
// MaxHeaderBytes bytes and MaxFields fields count.
func (p *parser) fields(hdr []byte) []Field {
	if len(hdr) > MaxHeaderBytes {
		hdr, p.v.Truncated = hdr[:MaxHeaderBytes], true
	}
	var names []string
	var vals [][]byte // grown in place: continuation lines cost what they add
	for len(hdr) > 0 {
		var line []byte
		if i := bytes.IndexByte(hdr, '\n'); i >= 0 {
			line, hdr = hdr[:i], hdr[i+1:]
		} else {
			line, hdr = hdr, nil
		}
		line = bytes.TrimRight(line, "\r")
		if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			if n := len(vals); n > 0 && len(vals[n-1]) < MaxFieldBytes {
				vals[n-1] = append(append(vals[n-1], ' '), bytes.TrimSpace(line)...)
			}
			continue
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !fieldName(line[:colon]) {
			continue
		}
		if len(names) >= MaxFields {
			p.v.Truncated = true
			break
		}
		names = append(names, string(bytes.TrimRight(line[:colon], " \t")))
		vals = append(vals, append([]byte(nil), bytes.TrimSpace(line[colon+1:])...))
	}
	out := make([]Field, len(names))
	for i := range names {
		v := vals[i]
		if len(v) > MaxFieldBytes {
			v, p.v.Truncated = v[:MaxFieldBytes], true
		}
		out[i] = Field{names[i], string(v)}
	}
	return out
}

// fieldName: printable ASCII except colon (RFC 5322 2.2); a space before
// the colon is tolerated (RFC 822's obsolete syntax).
func fieldName(b []byte) bool {
	b = bytes.TrimRight(b, " \t")
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

func get(fields []Field, name string) string {
	for _, f := range fields {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// contentType parses a Content-Type value; an empty or unusable one is
// text/plain (RFC 2045 5.2).
func contentType(v string) (string, map[string]string) {
	t, params := mediaType(v)
	if !validType(t) {
		t = "text/plain"
	}
	return t, params
}

// validType: type "/" subtype, both RFC 2045 tokens.
func validType(t string) bool {
	typ, sub, ok := strings.Cut(t, "/")
	return ok && token(typ) && token(sub)
}

func token(s string) bool {
	if s == "" || len(s) > 127 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return true
}

// mediaType parses a Content-Type or Content-Disposition value. RFC 2231
// parameters are mime's where it can (it knows only the UTF-8 and ASCII
// charsets); a value mime refuses, or a parameter it drops, is read
// leniently (lenientMediaType) rather than lost.
func mediaType(v string) (string, map[string]string) {
	t, params, err := mime.ParseMediaType(v)
	lt, lparams := lenientMediaType(v)
	if err != nil || params == nil {
		t, params = lt, map[string]string{}
	}
	for k, val := range lparams {
		if _, ok := params[k]; !ok {
			params[k] = val
		}
	}
	for k, val := range params {
		params[k] = cleanText(val)
	}
	return strings.ToLower(strings.TrimSpace(t)), params
}

// lenientMediaType reads key=value pairs, quotes stripped, the first of
// a duplicated key winning, and RFC 2231 continuations ("name*0*",
// "name*1") and charsets ("iso-8859-1”r%E9sum%E9") in any charset
// htmlindex knows.
func lenientMediaType(v string) (string, map[string]string) {
	type seg struct {
		val string
		enc bool
	}
	segs := map[string]map[int]seg{}
	params := map[string]string{}
	items := strings.Split(v, ";")
	for _, it := range items[1:] {
		k, val, ok := strings.Cut(it, "=")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		val = strings.Trim(strings.TrimSpace(val), `"`)
		if k == "" {
			continue
		}
		base, rest, star := strings.Cut(k, "*")
		if !star {
			if _, dup := params[k]; !dup {
				params[k] = val
			}
			continue
		}
		enc := strings.HasSuffix(rest, "*") || rest == ""
		n, err := strconv.Atoi(strings.TrimSuffix(rest, "*"))
		if rest == "" || rest == "*" {
			n, err = 0, nil
		}
		if err != nil || n < 0 || n > 100 {
			continue
		}
		if segs[base] == nil {
			segs[base] = map[int]seg{}
		}
		if _, dup := segs[base][n]; !dup {
			segs[base][n] = seg{val, enc}
		}
	}
	for base, m := range segs {
		var raw []byte
		charset := ""
		for i := 0; i <= 100; i++ {
			s, ok := m[i]
			if !ok {
				break
			}
			val := s.val
			if s.enc {
				if i == 0 {
					if parts := strings.SplitN(val, "'", 3); len(parts) == 3 {
						charset, val = parts[0], parts[2]
					}
				}
				if u, err := url.PathUnescape(val); err == nil {
					val = u
				}
			}
			raw = append(raw, val...)
		}
		params[base] = toUTF8(raw, charset) // a plain parameter of the same name loses (RFC 2231 4)
	}
	return items[0], params
}

// contentID strips the angle brackets of a Content-ID (RFC 2392).
func contentID(v string) string {
	v = strings.TrimSpace(v)
	v = strings.TrimSuffix(strings.TrimPrefix(v, "<"), ">")
	return cleanText(v)
}

// msgIDs keeps the "<...>" message ids of a Message-ID, In-Reply-To or
// References field, space separated (RFC 5322 3.6.4), dropping comments
// and anything else; at most 100 ids.
func msgIDs(v string) string {
	var ids []string
	for len(ids) < 100 {
		i := strings.IndexByte(v, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			break
		}
		id := v[i : i+j+1]
		v = v[i+j+1:]
		if strings.ContainsAny(id[1:len(id)-1], "<> \t\r\n\"\\") || len(id) < 3 || !isASCII(id) {
			continue
		}
		ids = append(ids, id)
	}
	return strings.Join(ids, " ")
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
