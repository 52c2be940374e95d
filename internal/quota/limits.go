package quota

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ErrInvalid marks input that is not a valid quota definition or argument.
var ErrInvalid = errors.New("quota: invalid")

// Limits is a Maildir++ quota definition. 0 means unlimited, as in Courier
// and Dovecot ("0 values mean unlimited", [dovecot] maildir_parse_limit).
type Limits struct{ Bytes, Messages int64 }

// Usage is what a Maildir holds: total message bytes and message count.
type Usage struct{ Bytes, Messages int64 }

// ParseDefinition reads a quota definition such as "1048576S,1000C": a
// comma-separated list of a decimal number followed by 'S' (total size of
// all messages, bytes) or 'C' (count of messages) [Maildir++ "Contents of
// maildirsize"]. Either part may be missing; "" and "0S" mean unlimited
// (Courier writes an empty line when there is no limit, Dovecot "0S").
//
// Following Dovecot, a later item of the same kind replaces an earlier
// one, and a value too large for int64 is capped at math.MaxInt64 ("truncate
// too high limits to signed 64bit int range", [dovecot] maildirsize_parse)
// rather than refused; a limit that large is unlimited in practice. Anything
// else, including spaces, signs and other letters, is an error: Courier
// skips what it does not understand, but a definition we cannot read must
// not silently become "unlimited".
func ParseDefinition(s string) (Limits, error) {
	var l Limits
	if s == "" {
		return l, nil
	}
	for item := range strings.SplitSeq(s, ",") {
		if len(item) < 2 {
			return Limits{}, fmt.Errorf("%w quota definition %q: item %q is not <number>S or <number>C", ErrInvalid, s, item)
		}
		n, _, ok := parseDigits(item[:len(item)-1])
		if !ok {
			return Limits{}, fmt.Errorf("%w quota definition %q: %q is not a decimal number", ErrInvalid, s, item[:len(item)-1])
		}
		switch item[len(item)-1] {
		case 'S':
			l.Bytes = n
		case 'C':
			l.Messages = n
		default:
			return Limits{}, fmt.Errorf("%w quota definition %q: %q must end in S (bytes) or C (messages)", ErrInvalid, s, item)
		}
	}
	return l, nil
}

// String formats the definition exactly as Dovecot writes the first line of
// maildirsize ([dovecot] maildirsize_write): "<bytes>S" when there is a byte
// limit or no limit at all ("write 0S instead of an empty line"), then
// ",<count>C" when there is a count limit. So 1048576S,1000C, 1048576S,
// 1000C and 0S. Courier and vpopmail read all of these.
func (l Limits) String() string {
	var b []byte
	if l.Bytes != 0 || l.Messages == 0 {
		b = strconv.AppendInt(b, l.Bytes, 10)
		b = append(b, 'S')
	}
	if l.Messages != 0 {
		if len(b) > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, l.Messages, 10)
		b = append(b, 'C')
	}
	return string(b)
}

// Unlimited reports whether l sets no limit at all.
func (l Limits) Unlimited() bool { return l.Bytes == 0 && l.Messages == 0 }

// Fits reports whether one more message of size bytes stays within l when
// the Maildir already holds u. Reaching a limit exactly is allowed; only
// exceeding it is not (Courier's checkOneQuota: "size > quota").
func (l Limits) Fits(u Usage, size int64) bool {
	if l.Bytes > 0 && addSaturating(u.Bytes, size) > l.Bytes {
		return false
	}
	if l.Messages > 0 && addSaturating(u.Messages, 1) > l.Messages {
		return false
	}
	return true
}

// validate refuses negative limits, which no reader could interpret.
func (l Limits) validate() error {
	if l.Bytes < 0 || l.Messages < 0 {
		return fmt.Errorf("%w limits %d bytes, %d messages: must not be negative", ErrInvalid, l.Bytes, l.Messages)
	}
	return nil
}

// parseDigits reads a non-empty string of ASCII digits. A value beyond
// int64 is capped at math.MaxInt64 and reported as saturated.
func parseDigits(s string) (n int64, saturated, ok bool) {
	if s == "" {
		return 0, false, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false, false
		}
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			n, saturated = math.MaxInt64, true
			continue
		}
		if !saturated {
			n = n*10 + d
		}
	}
	return n, saturated, true
}

// addSaturating returns a+b, held at math.MaxInt64 or math.MinInt64
// instead of wrapping around.
func addSaturating(a, b int64) int64 {
	s := a + b
	switch {
	case a > 0 && b > 0 && s < 0:
		return math.MaxInt64
	case a < 0 && b < 0 && s >= 0:
		return math.MinInt64
	}
	return s
}
