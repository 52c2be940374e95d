package srs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"goqmail/internal/control"
)

// MinSecret is the shortest secret accepted: `goqmail srs rotate` makes
// 32 random base64 characters.
const MinSecret = 16

// Load builds the codec of a control snapshot: nil when control/srsdomain
// is empty (SRS off). With a domain, a secrets file that is missing,
// unreadable, empty or holds a bad line is an error naming the file, the
// line and the fix: forwards must not silently leave without SRS.
func Load(s *control.Snapshot) (*Codec, error) {
	domain := s.Line(control.SRSDomain)
	if domain == "" {
		return nil, nil
	}
	path := filepath.Join(s.Dir, control.SRSSecrets.Name)
	secrets, err := ReadSecrets(path)
	if err != nil {
		return nil, err
	}
	return &Codec{Domain: strings.ToLower(domain), Secrets: secrets, MaxAge: int(s.Number(control.SRSMaxAge))}, nil
}

// ReadSecrets reads the secrets file: one secret a line, blank lines and
// '#' comments skipped, at least one.
func ReadSecrets(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("control/%s is missing but control/%s is set: run goqmail srs rotate to make a secret, or empty control/%s to turn SRS off",
			control.SRSSecrets.Name, control.SRSDomain.Name, control.SRSDomain.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("control/%s: %w (it should be 0640, owned by the send account, group goqmailnf)", control.SRSSecrets.Name, err)
	}
	return ParseSecrets(data)
}

// ParseSecrets checks the lines of a secrets file.
func ParseSecrets(data []byte) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), " \t\r")
		if line == "" || line[0] == '#' {
			continue
		}
		if len(line) < MinSecret || strings.ContainsAny(line, " \t") {
			return nil, fmt.Errorf("control/%s:%d: a secret must be at least %d characters without spaces: run goqmail srs rotate for a good one",
				control.SRSSecrets.Name, n, MinSecret)
		}
		for _, c := range []byte(line) {
			if c < 0x21 || c > 0x7e {
				return nil, fmt.Errorf("control/%s:%d: a secret holds a control or non-ASCII character", control.SRSSecrets.Name, n)
			}
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("control/%s: %w", control.SRSSecrets.Name, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("control/%s holds no secret: run goqmail srs rotate", control.SRSSecrets.Name)
	}
	return out, nil
}
