// Package vacation is goqmail's autoresponder ("out of the office"): the
// settings the webmail writes (Config, in a directory of the user's own)
// and what goqmail-vacation does with each delivered message: decide
// whether it deserves a reply (Decide: RFC 3834 and what qmail's
// autoresponders did), remember whom it answered (State: at most one
// reply per sender per period), and build the reply (Reply).
//
// goqmail-vacation runs from a .qmail program line as the user, with
// qmail-local's environment (docs/delivery.md); the webmail session
// writes the same files as the same user. Nothing here runs as root.
package vacation

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"goqmail/internal/atomicfile"
)

// File names inside the vacation directory.
const (
	ConfigFile = "config" // the settings (Config)
	StateFile  = "state"  // whom was answered when (State)
	lockFile   = ".lock"  // serializes goqmail-vacation runs on State
)

// Bounds: the config is the user's own file but is still read with
// limits, and the reply stays a short message.
const (
	MaxSubject   = 200
	MaxBody      = 64 << 10
	MaxAddresses = 100
	MaxDays      = 365
	maxConfig    = MaxBody + 16<<10
)

// Config is the autoresponder's settings. Days is the period: a sender
// gets at most one reply per Days days (at least 1). From and Until
// (Unix seconds, 0 = unset) bound when it answers. Addresses are the
// user's own: a message is answered only when one is in To or Cc, and
// never when it comes from one. Socket is the queue's submit socket
// (ROOT/run/submit.sock): delivery programs get no GOQMAIL_ROOT.
type Config struct {
	On          bool
	Subject     string
	Days        int
	From, Until int64
	Addresses   []string
	Socket      string
	Body        string
}

// Format writes c as header-like "Name: value" lines, an empty line and
// the body, the shape of a message (and of qmail-autoresponder's
// message file), so a user can read it.
func (c Config) Format() []byte {
	var b bytes.Buffer
	on := "0"
	if c.On {
		on = "1"
	}
	fmt.Fprintf(&b, "On: %s\nSubject: %s\nDays: %d\n", on, oneLine(c.Subject), c.Days)
	if c.From > 0 {
		fmt.Fprintf(&b, "From: %d\n", c.From)
	}
	if c.Until > 0 {
		fmt.Fprintf(&b, "Until: %d\n", c.Until)
	}
	for _, a := range c.Addresses {
		fmt.Fprintf(&b, "Address: %s\n", oneLine(a))
	}
	fmt.Fprintf(&b, "Socket: %s\n\n", oneLine(c.Socket))
	b.WriteString(c.Body)
	return b.Bytes()
}

// Check refuses settings that Format could not write back or that make
// no sense; its texts are for the user.
func (c Config) Check() error {
	switch {
	case len(c.Subject) > MaxSubject:
		return fmt.Errorf("the subject is longer than %d bytes", MaxSubject)
	case len(c.Body) > MaxBody:
		return fmt.Errorf("the message is longer than %d bytes", MaxBody)
	case c.Days < 1 || c.Days > MaxDays:
		return fmt.Errorf("the period must be 1 to %d days, not %d", MaxDays, c.Days)
	case c.From < 0 || c.Until < 0:
		return fmt.Errorf("negative dates")
	case c.From > 0 && c.Until > 0 && c.Until <= c.From:
		return fmt.Errorf("the end date is not after the start date")
	case len(c.Addresses) == 0 || len(c.Addresses) > MaxAddresses:
		return fmt.Errorf("%d own addresses (1 to %d)", len(c.Addresses), MaxAddresses)
	}
	return nil
}

// ParseConfig reads what Format wrote. Unknown names and bad numbers are
// errors: a reply is better not sent than sent on a guess.
func ParseConfig(data []byte) (Config, error) {
	if len(data) > maxConfig {
		return Config{}, fmt.Errorf("vacation config: %d bytes, at most %d", len(data), maxConfig)
	}
	var c Config
	head, body, ok := bytes.Cut(data, []byte("\n\n"))
	if !ok {
		return Config{}, fmt.Errorf("vacation config: no empty line before the message")
	}
	c.Body = string(body)
	sc := bufio.NewScanner(bytes.NewReader(head))
	n := 0
	for sc.Scan() {
		n++
		name, value, ok := strings.Cut(sc.Text(), ": ")
		if !ok {
			name, value, ok = strings.Cut(sc.Text(), ":")
		}
		if !ok {
			return Config{}, fmt.Errorf("vacation config line %d: no \"Name: value\"", n)
		}
		var err error
		switch name {
		case "On":
			c.On = value == "1"
			if value != "0" && value != "1" {
				err = fmt.Errorf("not 0 or 1")
			}
		case "Subject":
			c.Subject = value
		case "Days":
			c.Days, err = strconv.Atoi(value)
		case "From":
			c.From, err = strconv.ParseInt(value, 10, 64)
		case "Until":
			c.Until, err = strconv.ParseInt(value, 10, 64)
		case "Address":
			c.Addresses = append(c.Addresses, value)
		case "Socket":
			c.Socket = value
		default:
			err = fmt.Errorf("unknown name %q", name)
		}
		if err != nil {
			return Config{}, fmt.Errorf("vacation config line %d: %s: %w", n, name, err)
		}
	}
	if err := c.Check(); err != nil {
		return Config{}, fmt.Errorf("vacation config: %w", err)
	}
	return c, nil
}

// ReadConfig reads dir's config; a missing file is os.ErrNotExist.
func ReadConfig(dir string) (Config, error) {
	data, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		return Config{}, err
	}
	return ParseConfig(data)
}

// WriteConfig checks c and replaces dir's config atomically, making dir
// (0700) as needed.
func WriteConfig(dir string, c Config) error {
	if err := c.Check(); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, ConfigFile), c.Format(), 0o600)
}

func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
