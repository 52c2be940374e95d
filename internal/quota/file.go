package quota

import (
	"bytes"
	"fmt"
	"math"
)

// maxFileSize is the size at which maildirsize is rebuilt instead of read:
// "If maildirsize does not exist, or if its size is at least 5120 bytes,
// recalculate it" [Maildir++ "Calculating the quota"]; Courier and Dovecot
// both read into a 5120-byte buffer and rebuild when it fills.
const maxFileSize = 5120

// fileName is the file at the Maildir's root.
const fileName = "maildirsize"

// fileContents is what a maildirsize file says.
type fileContents struct {
	Limits Limits // the first line
	Usage  Usage  // the sum of the other lines
	// Lines counts the lines after the definition. An over-quota total is
	// trusted only from a file of exactly one such line (a fresh count).
	Lines int
	// Saturated is set when a number or a running total did not fit in an
	// int64 and was held at the int64 limit: the totals are then not a
	// true record, and Check rebuilds the file.
	Saturated bool
}

// parseFile reads the contents of a maildirsize file: the definition line,
// then lines of two whitespace-separated integers, bytes and messages, each
// possibly negative [Maildir++ "Contents of maildirsize"]. Courier pads
// each line with spaces to 14 bytes or more; Dovecot writes "%lld %d".
//
// An error means the file cannot be trusted and must be rebuilt; the rules
// are Dovecot's where Dovecot is stricter than Courier ([dovecot]
// maildirsize_read/maildirsize_parse), because a file Dovecot rejects is a
// file Dovecot rebuilds:
//   - a NUL byte anywhere ("the file is broken");
//   - a line that is not exactly two integers (sscanf "%lld %d" != 2);
//   - a negative total for bytes or messages ("corrupted"; Courier too).
//
// One rule is ours: a last line without its newline is an error, not
// skipped as Dovecot does. Add writes each line in one write(2), so only a
// crash or a full disk leaves a partial line; skipping it would lose that
// message from the count until the next rebuild, while rebuilding now
// gives the right totals.
//
// Totals saturate rather than wrap, so a hostile or broken file can never
// turn a huge usage into a small or negative one; see fileContents.
func parseFile(data []byte) (fileContents, error) {
	var fc fileContents
	if bytes.IndexByte(data, 0) >= 0 {
		return fc, fmt.Errorf("maildirsize holds a NUL byte")
	}
	if len(data) == 0 || data[len(data)-1] != '\n' {
		return fc, fmt.Errorf("maildirsize does not end in a newline")
	}
	lines := bytes.Split(data[:len(data)-1], []byte{'\n'})
	lim, err := ParseDefinition(string(lines[0]))
	if err != nil {
		return fc, fmt.Errorf("maildirsize first line: %w", err)
	}
	fc.Limits = lim
	for i, line := range lines[1:] {
		b, c, sat, err := parseDelta(line)
		if err != nil {
			return fileContents{}, fmt.Errorf("maildirsize line %d: %w", i+2, err)
		}
		fc.Lines++
		fc.Saturated = fc.Saturated || sat
		fc.Usage.Bytes, sat = addChecked(fc.Usage.Bytes, b)
		fc.Saturated = fc.Saturated || sat
		fc.Usage.Messages, sat = addChecked(fc.Usage.Messages, c)
		fc.Saturated = fc.Saturated || sat
	}
	if fc.Usage.Bytes < 0 || fc.Usage.Messages < 0 {
		return fileContents{}, fmt.Errorf("maildirsize totals %d bytes, %d messages are negative", fc.Usage.Bytes, fc.Usage.Messages)
	}
	return fc, nil
}

// parseDelta reads one "<bytes> <count>" line, with any spaces or tabs
// before, between and after the two numbers.
func parseDelta(line []byte) (bytesDelta, countDelta int64, saturated bool, err error) {
	fields := bytes.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' })
	if len(fields) != 2 {
		return 0, 0, false, fmt.Errorf("%q is not two numbers", line)
	}
	b, sb, okb := parseSigned(fields[0])
	c, sc, okc := parseSigned(fields[1])
	if !okb || !okc {
		return 0, 0, false, fmt.Errorf("%q is not two decimal integers", line)
	}
	return b, c, sb || sc, nil
}

// parseSigned reads an optionally negative decimal integer, saturating at
// the int64 limits.
func parseSigned(s []byte) (int64, bool, bool) {
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	n, sat, ok := parseDigits(string(s))
	if neg {
		if sat {
			return math.MinInt64, true, ok
		}
		n = -n
	}
	return n, sat, ok
}

// addChecked adds with saturation and says whether it saturated.
func addChecked(a, b int64) (int64, bool) {
	s := addSaturating(a, b)
	return s, s != a+b
}

// formatFile is the content of a rebuilt maildirsize: the definition and
// one line with the full count, as Dovecot writes it ([dovecot]
// maildirsize_write: "%lluS,%lluC\n%llu %llu\n").
func formatFile(lim Limits, u Usage) []byte {
	return fmt.Appendf(nil, "%s\n%d %d\n", lim, u.Bytes, u.Messages)
}

// formatDelta is the line appended for one delivered message: "<size> 1",
// Dovecot's unpadded form ([dovecot] maildirsize_update: "%lld %d\n").
func formatDelta(size int64) []byte {
	return fmt.Appendf(nil, "%d 1\n", size)
}
