package smtpd

import (
	"fmt"
	"strings"
)

// Kind is what a listening socket is for; the supervisor binds each
// control/*listen file to its kind and passes it in GOQMAIL_FD_KINDS.
type Kind int

const (
	// KindSMTP is relay and inbound mail (port 25): STARTTLS when a
	// certificate exists, AUTH only over TLS.
	KindSMTP Kind = iota
	// KindSubmission is message submission (port 587, RFC 6409): as SMTP,
	// but MAIL needs AUTH first.
	KindSubmission
	// KindSMTPS is submission over implicit TLS (port 465, RFC 8314
	// section 3.3): the TLS handshake comes before the greeting.
	KindSMTPS
)

var kindNames = [...]string{"smtp", "submission", "smtps"}

func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return fmt.Sprintf("kind(%d)", int(k))
	}
	return kindNames[k]
}

// authRequired: on the submission ports mail is accepted only from users
// who logged in (RFC 6409 section 4.3, RFC 8314 section 3.3).
func (k Kind) authRequired() bool { return k == KindSubmission || k == KindSMTPS }

// ParseKind reads a kind by its name in GOQMAIL_FD_KINDS.
func ParseKind(name string) (Kind, error) {
	for i, n := range kindNames {
		if strings.EqualFold(strings.TrimSpace(name), n) {
			return Kind(i), nil
		}
	}
	return 0, fmt.Errorf("unknown listener kind %q (want smtp, submission or smtps)", name)
}

// ParseKinds reads GOQMAIL_FD_KINDS for n inherited sockets: a
// comma-separated kind per descriptor from 3 on. An empty value means every
// socket is smtp (a supervisor from before submission listeners existed);
// otherwise the count must match, since guessing would put a submission
// port's promise of AUTH on the wrong socket.
func ParseKinds(value string, n int) ([]Kind, error) {
	kinds := make([]Kind, n)
	if strings.TrimSpace(value) == "" {
		return kinds, nil
	}
	names := strings.Split(value, ",")
	if len(names) != n {
		return nil, fmt.Errorf("GOQMAIL_FD_KINDS names %d kinds for %d sockets", len(names), n)
	}
	for i, name := range names {
		k, err := ParseKind(name)
		if err != nil {
			return nil, fmt.Errorf("GOQMAIL_FD_KINDS: %w", err)
		}
		kinds[i] = k
	}
	return kinds, nil
}
