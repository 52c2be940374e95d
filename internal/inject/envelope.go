package inject

import (
	"fmt"
	"net/mail"

	"goqmail/internal/address"
)

// Recipients parses one command-line recipient argument into envelope
// addresses (internal form, local@domain). The usual argument is one
// address, parsed by internal/address as an SMTP path ("user@host",
// "<user@host>", or a bare "user"). Like Postfix's sendmail, an argument
// that is not one may be a header-style address list ("a, b",
// "Joe <joe@host>"), which some mail user agents pass. Either way,
// addresses are completed as in headers: no host gets defaulthost, a host
// without a dot gets defaultdomain (qmail-inject dorecip).
func (c *Config) Recipients(arg string) ([]string, error) {
	if err := checkArg(arg); err != nil {
		return nil, err
	}
	a, params, err := address.ParsePath(arg, address.Options{AllowNoDomain: true})
	if err == nil && params == "" {
		s, err := c.completeEnvelope(a)
		if err != nil {
			return nil, fmt.Errorf("%w %q: %w", ErrAddress, arg, err)
		}
		return []string{s}, nil
	}
	if err == nil {
		err = fmt.Errorf("%w: %q after the address", address.ErrSyntax, params)
	}
	if list, lerr := c.parseList(arg); lerr == nil && len(list) > 0 {
		var out []string
		for _, a := range list {
			e, err := envelopeForm(a.Address)
			if err != nil {
				return nil, fmt.Errorf("%w %q: %w", ErrAddress, a.Address, err)
			}
			out = append(out, e)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w %q: %w", ErrAddress, arg, err)
}

// Sender parses the argument of -f or -r. "" and "<>" are the null sender
// (returned as ""), for mail that must not bounce. Otherwise it is one
// address, completed like a recipient (qmail-inject -f runs rwgeneric).
func (c *Config) Sender(arg string) (string, error) {
	if arg == "" || arg == "<>" {
		return "", nil
	}
	if err := checkArg(arg); err != nil {
		return "", err
	}
	a, params, err := address.ParsePath(arg, address.Options{AllowNull: true, AllowNoDomain: true})
	if err == nil && params == "" {
		if a.IsNull() {
			return "", nil
		}
		s, err := c.completeEnvelope(a)
		if err != nil {
			return "", fmt.Errorf("%w %q: %w", ErrAddress, arg, err)
		}
		return s, nil
	}
	if list, lerr := c.parseList(arg); lerr == nil && len(list) == 1 {
		s, err := envelopeForm(list[0].Address)
		if err != nil {
			return "", fmt.Errorf("%w %q: %w", ErrAddress, arg, err)
		}
		return s, nil
	}
	if err == nil {
		err = fmt.Errorf("%w: %q after the address", address.ErrSyntax, params)
	}
	return "", fmt.Errorf("%w %q: %w", ErrAddress, arg, err)
}

// DefaultSender is the envelope sender without -f: QMAILSUSER@QMAILSHOST,
// defaulting to the From user and host (qmail-inject mailruser, mailrhost).
func (c *Config) DefaultSender() (string, error) {
	id := c.Identity
	user := id.SenderUser
	if user == "" {
		user = "anonymous"
	}
	s, err := c.completeEnvelope(address.Addr{Local: user, Domain: id.SenderHost})
	if err != nil {
		return "", fmt.Errorf("%w: default sender %q: %w (set QMAILSUSER or use -f)", ErrAddress, user, err)
	}
	return s, nil
}

// checkArg refuses what no address may hold before any parsing: control
// characters (a newline would make a second envelope line or header) and
// more than address.MaxArgLen bytes.
func checkArg(arg string) error {
	if len(arg) > address.MaxArgLen {
		return fmt.Errorf("%w: %w: %d bytes, limit %d", ErrAddress, address.ErrTooLong, len(arg), address.MaxArgLen)
	}
	for i := 0; i < len(arg); i++ {
		if c := arg[i]; c < ' ' || c == 0x7f {
			return fmt.Errorf("%w %q: %w: control character 0x%02x", ErrAddress, arg, address.ErrBadChar, c)
		}
	}
	return nil
}

// parseList parses s as a header address list after completing it.
func (c *Config) parseList(s string) ([]*mail.Address, error) {
	v, _, err := completeList([]byte(s), c.noHost(), c.noDot())
	if err != nil {
		return nil, err
	}
	return mail.ParseAddressList(string(v))
}

// completeEnvelope adds defaulthost and defaultdomain to a parsed address
// and returns its canonical internal form.
func (c *Config) completeEnvelope(a address.Addr) (string, error) {
	if a.Domain == "" {
		a.Domain = c.DefaultHost
	}
	if a.Domain == "" {
		return "", address.ErrNoDomain
	}
	if c.needsDomain(a.Domain) {
		a.Domain += "." + c.DefaultDomain
	}
	return envelopeForm(a.Local + "@" + a.Domain)
}

// envelopeForm turns local@domain (the local part unquoted, as net/mail
// returns it) into the canonical envelope form by passing it through
// internal/address, the parser the SMTP server uses: same limits, same
// domain rules, lower-case domain.
func envelopeForm(s string) (string, error) {
	local, domain := address.Split(s)
	if local == "" || domain == "" {
		return "", fmt.Errorf("%w: %q", address.ErrSyntax, s)
	}
	a, params, err := address.ParsePath(address.Addr{Local: local, Domain: domain}.SMTP(), address.Options{})
	if err != nil {
		return "", err
	}
	if params != "" {
		return "", fmt.Errorf("%w: %q", address.ErrSyntax, s)
	}
	return a.String(), nil
}
