package tlsrpt

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Sender mails each report to the addresses the domain publishes.
type Sender struct {
	Resolver interface {
		LookupTXT(ctx context.Context, name string) ([]string, error)
	}
	// Submit queues one message (goqmail-remote: the submit socket).
	Submit    func(from string, rcpts []string, msg []byte) error
	From      string // control/tlsrptfrom
	Submitter string // this host's domain (control/me)
	Log       func(format string, args ...any)
}

// Send mails the reports of domains that ask for them (RFC 8460 3: one
// _smtp._tls TXT record starting with v=TLSRPTv1); the others are only
// logged. It returns how many it queued.
func (s *Sender) Send(ctx context.Context, reports []Report, now time.Time) int {
	sent := 0
	for _, r := range reports {
		to, err := s.recipients(ctx, r.Domain)
		if err != nil {
			s.Log("TLS report for %s (%s): not sent: %v", r.Domain, summary(r), err)
			continue
		}
		msg, id, err := r.Message(s.From, s.Submitter, to, now)
		if err == nil {
			err = s.Submit(s.From, to, msg)
		}
		if err != nil {
			s.Log("warning: TLS report for %s to %s: %v", r.Domain, strings.Join(to, " "), err)
			continue
		}
		sent++
		s.Log("TLS report %s for %s (%s) queued to %s", id, r.Domain, summary(r), strings.Join(to, " "))
	}
	return sent
}

func (s *Sender) recipients(ctx context.Context, domain string) ([]string, error) {
	txts, err := s.Resolver.LookupTXT(ctx, "_smtp._tls."+domain)
	if err != nil {
		return nil, err
	}
	var recs []string
	for _, t := range txts {
		if strings.HasPrefix(t, "v=TLSRPTv1") {
			recs = append(recs, t)
		}
	}
	if len(recs) != 1 {
		return nil, fmt.Errorf("%d TLS-RPT records at _smtp._tls.%s, need exactly one", len(recs), domain)
	}
	to, other, err := ParseRecord(recs[0])
	if err != nil {
		return nil, err
	}
	if len(to) == 0 {
		return nil, fmt.Errorf("no mailto: address in %q (https reporting %v is not supported)", recs[0], other)
	}
	return to, nil
}

func summary(r Report) string {
	var ok, fail int64
	for _, p := range r.Policies {
		ok += p.Success
		for _, f := range p.Failures {
			fail += f.Count
		}
	}
	return fmt.Sprintf("%d successful, %d failed sessions", ok, fail)
}
