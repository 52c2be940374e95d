package mimeview

import (
	"net/mail"
	"regexp"
	"strings"
)

// Address is one mailbox of an address header, decoded.
type Address struct {
	Name, Addr string
}

// String formats a for a form field: "Name" <addr>, or addr alone.
func (a Address) String() string {
	if a.Name == "" {
		return a.Addr
	}
	name := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(a.Name)
	return `"` + name + `" <` + a.Addr + `>`
}

var addrParser = &mail.AddressParser{WordDecoder: wordDecoder}

// looseAddr finds what looks like an address in a header net/mail
// refuses (a broken list still gets a reply).
var looseAddr = regexp.MustCompile(`[^\s<>,;:"()\[\]\\]+@[^\s<>,;:"()\[\]\\]+`)

var (
	angleAddr   = regexp.MustCompile(`<\s*([^\s<>,;:"()\[\]\\]+@[^\s<>,;:"()\[\]\\]+)\s*>`)
	encodedWord = regexp.MustCompile(`=\?[^?\s]*\?[bBqQ]\?[^?\s]*\?=`)
)

// ParseAddresses reads an address header value (as written, or decoded):
// RFC 5322 address lists through net/mail, and, where that fails,
// whatever looks like addr@domain. At most 500 addresses.
func ParseAddresses(v string) []Address {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	var out []Address
	if list, err := addrParser.ParseList(v); err == nil {
		for _, a := range list {
			out = append(out, Address{Name: decodeHeader(a.Name), Addr: cleanAddr(a.Address)})
		}
	} else {
		// Encoded words are display names, never addresses; where there
		// are <angle> addresses, they are the addresses.
		v = encodedWord.ReplaceAllString(v, " ")
		if ms := angleAddr.FindAllStringSubmatch(v, 500); len(ms) > 0 {
			for _, m := range ms {
				out = append(out, Address{Addr: cleanAddr(m[1])})
			}
		} else {
			for _, m := range looseAddr.FindAllString(v, 500) {
				out = append(out, Address{Addr: cleanAddr(m)})
			}
		}
	}
	if len(out) > 500 {
		out = out[:500]
	}
	return out
}

func cleanAddr(a string) string {
	return strings.Map(func(r rune) rune {
		if r <= ' ' || r == 0x7f || bidiControl(r) {
			return -1
		}
		return r
	}, a)
}
