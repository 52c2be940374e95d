package mimeview

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/quotedprintable"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
)

// charsetDecoder finds a decoder for a MIME charset name. htmlindex is the
// WHATWG Encoding Standard's table, the one browsers use, so a label a
// mail client wrote for a browser-era reader (iso-8859-1 meaning
// windows-1252, "utf8", "x-sjis") reads as a browser would read it.
func charsetDecoder(name string) encoding.Encoding {
	name = strings.ToLower(strings.Trim(strings.TrimSpace(name), `"'`))
	switch name {
	case "", "us-ascii", "ascii", "utf-8", "utf8":
		return nil
	}
	e, err := htmlindex.Get(name)
	if err != nil {
		return nil
	}
	return e
}

// toUTF8 decodes b from charset to valid UTF-8, best effort: an unknown
// or wrong charset still gives text (UTF-8 when the bytes are UTF-8,
// otherwise windows-1252, which maps every byte), never invalid UTF-8.
func toUTF8(b []byte, charset string) string {
	if e := charsetDecoder(charset); e != nil {
		if out, err := e.NewDecoder().Bytes(b); err == nil {
			return cleanText(string(out))
		}
	}
	if utf8.Valid(b) {
		return cleanText(string(b))
	}
	out, _ := charmap.Windows1252.NewDecoder().Bytes(b)
	return cleanText(string(out))
}

// cleanText makes s valid UTF-8 and drops NULs and the C0 controls a
// text view has no use for (tab, newline and carriage return stay).
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if strings.IndexFunc(s, badControl) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if badControl(r) {
			return -1
		}
		return r
	}, s)
}

func badControl(r rune) bool {
	return (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f
}

// wordDecoder decodes RFC 2047 encoded words with any charset htmlindex
// knows; an unknown charset leaves the word as it was written.
var wordDecoder = &mime.WordDecoder{CharsetReader: func(charset string, in io.Reader) (io.Reader, error) {
	e := charsetDecoder(charset)
	if e == nil {
		return in, nil // us-ascii, utf-8, or unknown: the bytes are made valid below
	}
	return e.NewDecoder().Reader(in), nil
}}

// decodeHeader decodes an unfolded header value for display: RFC 2047
// words, raw 8-bit bytes (UTF-8, else windows-1252), no control
// characters (a CR or LF in a decoded word must not start a new line).
func decodeHeader(v string) string {
	if !utf8.ValidString(v) {
		v = toUTF8([]byte(v), "")
	}
	if strings.Contains(v, "=?") {
		if d, err := wordDecoder.DecodeHeader(v); err == nil {
			v = d
		}
	}
	v = strings.ToValidUTF8(v, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\r' || r == '\n' {
			return ' '
		}
		if badControl(r) {
			return -1
		}
		return r
	}, strings.TrimSpace(v))
}

// decodeTransfer undoes a Content-Transfer-Encoding, leniently: bad
// base64 or quoted-printable yields what could be decoded before and
// after the damage instead of nothing (a reader shows what it can). The
// result is never longer than the input.
func decodeTransfer(b []byte, cte string) []byte {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		return decodeBase64(b)
	case "quoted-printable":
		out, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(b)))
		if err != nil {
			// Decode line by line, keeping bad lines as they were.
			var buf bytes.Buffer
			for _, line := range bytes.SplitAfter(b, []byte("\n")) {
				d, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(line)))
				if err != nil {
					d = line
				}
				buf.Write(d)
			}
			out = buf.Bytes()
		}
		return out
	}
	return b
}

// decodeBase64 keeps only alphabet characters (RFC 2045 6.8: others are
// ignored). Padding ends a run of quanta; what follows is decoded as a
// run of its own (some clients concatenate encoded blocks).
func decodeBase64(b []byte) []byte {
	out := make([]byte, 0, len(b)/4*3+3)
	run := make([]byte, 0, 1024)
	flush := func() {
		if len(run)%4 == 1 { // a lone sextet is no byte
			run = run[:len(run)-1]
		}
		buf := make([]byte, base64.RawStdEncoding.DecodedLen(len(run)))
		n, _ := base64.RawStdEncoding.Decode(buf, run)
		out = append(out, buf[:n]...)
		run = run[:0]
	}
	for _, c := range b {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/':
			run = append(run, c)
			if len(run) == cap(run) && len(run)%4 == 0 {
				flush()
			}
		case c == '=':
			flush()
		}
	}
	flush()
	return out
}

// bidiControls are the characters that reorder how a name is shown
// ("invoice‮fdp.exe" shown as "invoiceexe.pdf").
func bidiControl(r rune) bool {
	switch {
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x200E, r == 0x200F, r == 0x061C:
		return true
	}
	return false
}

// MaxNameBytes bounds a file name shown or offered for download.
const MaxNameBytes = 200

// SafeFileName makes a hostile file name fit to show and to offer as a
// download name: RFC 2047 words decoded, no directory, no control,
// bidirectional-override or invisible format characters (no header
// injection through CR/LF, no "exe" dressed as "pdf"), no leading dots,
// at most MaxNameBytes bytes keeping the extension. An empty result is "".
func SafeFileName(name string) string {
	name = decodeHeader(name)
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || bidiControl(r) || r == utf8.RuneError {
			return -1
		}
		if unicode.Is(unicode.Cf, r) { // zero-width and other invisible format characters
			return -1
		}
		if r == '"' || r == ':' || r == '*' || r == '?' || r == '<' || r == '>' || r == '|' {
			return '_'
		}
		return r
	}, name)
	name = strings.Trim(name, " .")
	if len(name) > MaxNameBytes {
		ext := path.Ext(name)
		if len(ext) > 16 {
			ext = ""
		}
		base := name[:len(name)-len(ext)]
		base = truncUTF8(base, MaxNameBytes-len(ext))
		name = base + ext
	}
	return name
}

// truncUTF8 cuts s to at most n bytes without splitting a character.
func truncUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
