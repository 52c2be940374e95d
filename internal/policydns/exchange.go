package policydns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// ednsSize is the UDP payload size we announce (EDNS0, RFC 6891): the
// DNS flag day 2020 value, which avoids IP fragmentation.
const ednsSize = 1232

// minTry is the least time one server gets before the next is asked.
const minTry = 500 * time.Millisecond

var (
	udpClient = &dns.Client{Net: "udp", UDPSize: ednsSize}
	tcpClient = &dns.Client{Net: "tcp"}
)

// exchange asks the servers one after the other, twice round, until one
// gives an answer (NOERROR or NXDOMAIN) or ctx runs out. Each try gets an
// equal share of the time left, at least minTry; an answer cut short over
// UDP is asked again over TCP. It returns the answer and the server that
// gave it, or a *net.DNSError that is temporary (SERVFAIL, REFUSED, no
// server reachable) or a timeout.
func exchange(ctx context.Context, servers []string, name string, qtype uint16) (*dns.Msg, string, error) {
	q := new(dns.Msg)
	q.SetQuestion(name, qtype)
	q.RecursionDesired = true
	q.SetEdns0(ednsSize, false)
	tries := 2 * len(servers)
	var last error
	for i := 0; i < tries; i++ {
		server := servers[i%len(servers)]
		share := minTry
		if dl, ok := ctx.Deadline(); ok {
			share = max(time.Until(dl)/time.Duration(tries-i), minTry)
		}
		tctx, cancel := context.WithTimeout(ctx, share)
		in, err := ask(tctx, q, server)
		cancel()
		if err == nil {
			return in, server, nil
		}
		last = err
		if ctx.Err() != nil {
			break
		}
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || isTimeout(last) {
		return nil, "", timeoutErr(strings.TrimSuffix(name, "."), "", last)
	}
	return nil, "", &net.DNSError{Err: "no server answered: " + errText(last), Name: strings.TrimSuffix(name, "."),
		IsTemporary: true, UnwrapErr: last}
}

// ask sends q to one server and checks the answer is one to take.
func ask(ctx context.Context, q *dns.Msg, server string) (*dns.Msg, error) {
	in, _, err := udpClient.ExchangeContext(ctx, q, server)
	if err == nil && in.Truncated {
		in, _, err = tcpClient.ExchangeContext(ctx, q, server)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", server, err)
	}
	if len(in.Question) != 1 || !strings.EqualFold(in.Question[0].Name, q.Question[0].Name) || in.Question[0].Qtype != q.Question[0].Qtype {
		return nil, fmt.Errorf("%s: the answer is to another question", server)
	}
	switch in.Rcode {
	case dns.RcodeSuccess, dns.RcodeNameError:
		return in, nil
	}
	// SERVFAIL (the server could not resolve it), REFUSED (it will not
	// for us), or anything else: another server may do better, and
	// nothing here is a definite answer about the name.
	return nil, fmt.Errorf("%s: %s", server, dns.RcodeToString[in.Rcode])
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded)
}

func errText(err error) string {
	if err == nil {
		return "no server configured"
	}
	return err.Error()
}

// notFound is the definite "no such record" (NXDOMAIN or NODATA), as net
// reports it.
func notFound(name, server string) *net.DNSError {
	return &net.DNSError{Err: "no such host", Name: name, Server: server, IsNotFound: true}
}

func timeoutErr(name, server string, cause error) *net.DNSError {
	return &net.DNSError{Err: "i/o timeout", Name: name, Server: server, IsTimeout: true, IsTemporary: true, UnwrapErr: cause}
}
