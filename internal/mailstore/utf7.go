package mailstore

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Folder names on disk are in IMAP's modified UTF-7 (RFC 3501 5.1.3), as
// Dovecot writes them for the Maildir++ layout (mailbox_list_utf8=no, its
// default), so that a folder created here shows in an IMAP client with
// the same name, and one created there shows here: "Café" is
// ".Caf&AOk-", "R&D" is ".R&-D".

// b64 is RFC 3501's modified base64: "," for "/", no padding.
// utf7Alphabet is modified base64's (RFC 3501 section 5.1.3: "," for "/").
const utf7Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,"

var b64 = base64.NewEncoding(utf7Alphabet).WithPadding(base64.NoPadding)

// encodeUTF7 returns the modified UTF-7 form of a UTF-8 name.
func encodeUTF7(s string) string {
	var b strings.Builder
	var run []rune // pending non-printable characters
	flush := func() {
		if len(run) == 0 {
			return
		}
		u := utf16.Encode(run)
		buf := make([]byte, 2*len(u))
		for i, c := range u {
			buf[2*i], buf[2*i+1] = byte(c>>8), byte(c)
		}
		b.WriteByte('&')
		b.WriteString(b64.EncodeToString(buf))
		b.WriteByte('-')
		run = run[:0]
	}
	for _, r := range s {
		switch {
		case r == '&':
			flush()
			b.WriteString("&-")
		case r >= 0x20 && r <= 0x7e:
			flush()
			b.WriteRune(r)
		default:
			run = append(run, r)
		}
	}
	flush()
	return b.String()
}

var errUTF7 = errors.New("not modified UTF-7")

// decodeUTF7 returns the UTF-8 form of a modified UTF-7 name. It is
// strict (RFC 3501 5.1.3): printable ASCII never appears encoded, an
// encoded run ends with "-", its unused bits are zero, two runs are
// never adjacent, and the result is valid UTF-16: every disk name that
// decodes is the one encodeUTF7 makes of its UTF-8 name, so two
// directories never claim one folder.
func decodeUTF7(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			return "", fmt.Errorf("%q: %w", s, errUTF7)
		}
		if c != '&' {
			b.WriteByte(c)
			continue
		}
		j := strings.IndexByte(s[i+1:], '-')
		if j < 0 {
			return "", fmt.Errorf("%q: %w", s, errUTF7)
		}
		enc := s[i+1 : i+1+j]
		i += j + 1
		if enc == "" {
			b.WriteByte('&')
			continue
		}
		// Strict: only the alphabet's characters (encoding/base64 skips
		// CR and LF even in Strict mode, so "&\r-" decoded to nothing:
		// the fuzzer's find), unused bits zero, and no run right after
		// another: the encoder makes one run of both.
		if strings.Trim(enc, utf7Alphabet) != "" {
			return "", fmt.Errorf("%q: %w", s, errUTF7)
		}
		raw, err := b64.Strict().DecodeString(enc)
		if err != nil || len(raw) == 0 || len(raw)%2 != 0 || strings.HasPrefix(s[i+1:], "&") && !strings.HasPrefix(s[i+1:], "&-") {
			return "", fmt.Errorf("%q: %w", s, errUTF7)
		}
		u := make([]uint16, len(raw)/2)
		for k := range u {
			u[k] = uint16(raw[2*k])<<8 | uint16(raw[2*k+1])
		}
		for _, r := range utf16.Decode(u) {
			if r == utf8.RuneError || (r >= 0x20 && r <= 0x7e) {
				return "", fmt.Errorf("%q: %w", s, errUTF7)
			}
			b.WriteRune(r)
		}
	}
	return b.String(), nil
}
