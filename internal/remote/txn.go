package remote

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"goqmail/internal/proto"
)

// outcome is the result for one recipient before it becomes a Result.
type outcome struct {
	code byte // proto.ResultSuccess, ResultDeferral, ResultPermanent
	text string
}

func fromReply(r Reply, what string) outcome {
	switch r.Class() {
	case 2:
		return outcome{proto.ResultSuccess, what + "/Remote host said: " + r.String()}
	case 5:
		return outcome{proto.ResultPermanent, what + "/Remote host said: " + r.String()}
	}
	return outcome{proto.ResultDeferral, what + "/Remote host said: " + r.String()}
}

// transact runs one mail transaction (RFC 5321 3.3) on a ready connection
// and returns one outcome per recipient. With PIPELINING (RFC 2920) MAIL,
// every RCPT and DATA go out in one write and the replies are read in
// order; without it each command waits for its reply and the transaction
// stops early when MAIL or every RCPT fails.
//
// Only a 2xx read after the final CRLF.CRLF went out counts as delivery.
// Before writing that dot we check the peer said nothing during the data;
// a reply that never comes after the dot is a deferral marked "Possible
// duplicate!" (qmail's wording), since the peer may have taken the
// message.
func (cn *conn) transact(env envelope, msg *message) []outcome {
	host := cn.target.AddrPort().String()
	out := make([]outcome, len(env.rcpts))
	all := func(o outcome) []outcome {
		for i := range out {
			out[i] = o
		}
		return out
	}
	// died defers every recipient not decided yet; a recipient the peer
	// already refused keeps that answer.
	died := func(stage string, err error) []outcome {
		for i := range out {
			if out[i].code == 0 {
				out[i] = outcome{proto.ResultDeferral, fmt.Sprintf("Connected to %s but %s: %v. (#4.4.2)", host, stage, err)}
			}
		}
		return out
	}

	if max := cn.maxSize(); max > 0 && msg.wireSize > max {
		return all(outcome{proto.ResultPermanent, fmt.Sprintf("Sorry, the message is %d bytes and %s accepts at most %d. (#5.3.4)", msg.wireSize, host, max)})
	}
	if env.utf8 && !cn.ext.has("SMTPUTF8") {
		return all(outcome{proto.ResultPermanent, fmt.Sprintf("Sorry, the envelope has non-ASCII addresses and %s does not support SMTPUTF8. (#5.6.7)", host)})
	}
	mail := "MAIL FROM:" + env.from
	if cn.ext.has("SIZE") {
		mail += " SIZE=" + strconv.FormatInt(msg.wireSize, 10)
	}
	if msg.eightBit && cn.ext.has("8BITMIME") {
		mail += " BODY=8BITMIME"
	}
	if (env.utf8 || msg.utf8Head) && cn.ext.has("SMTPUTF8") {
		mail += " SMTPUTF8"
	}
	pipelined := cn.ext.has("PIPELINING")

	// MAIL
	if pipelined {
		if cn.br.Buffered() > 0 {
			return died("it sent data out of turn", errProtocol)
		}
		cn.write(mail)
		for _, r := range env.rcpts {
			cn.write("RCPT TO:" + r)
		}
		cn.write("DATA")
		if err := cn.flush(); err != nil {
			return died("the connection died", err)
		}
	}
	step := func(line string) (Reply, error) {
		if pipelined {
			return cn.reply()
		}
		return cn.cmd(line)
	}
	r, err := step(mail)
	if err != nil {
		return died("the connection died on MAIL", err)
	}
	mailOK := r.Class() == 2
	if !mailOK {
		all(fromReply(r, fmt.Sprintf("Connected to %s but sender was rejected.", host)))
		if !pipelined {
			return out
		}
	}

	// RCPT
	accepted := 0
	for i, rc := range env.rcpts {
		if !mailOK && !pipelined {
			break
		}
		r, err := step("RCPT TO:" + rc)
		if err != nil {
			if mailOK {
				return died("the connection died on RCPT", err)
			}
			return out
		}
		if !mailOK {
			continue
		}
		if r.Class() == 2 {
			accepted++
			out[i].code = 0 // pending: decided by DATA and the final reply
			continue
		}
		out[i] = fromReply(r, fmt.Sprintf("%s does not like recipient.", host))
	}

	// DATA
	if !pipelined && accepted == 0 {
		return out // qmail: "Giving up on" the host; RSET happens on reuse
	}
	r, err = step("DATA")
	if err != nil {
		if accepted == 0 {
			return out
		}
		return died("the connection died on DATA", err)
	}
	if r.Code == 354 && accepted == 0 {
		// A pipelining peer started DATA with no recipient (RFC 2920
		// 3.1): end it empty and ignore the answer.
		if cn.write(".") == nil && cn.flush() == nil {
			cn.reply()
		}
		return out
	}
	if accepted == 0 {
		return out
	}
	pending := func(o outcome) []outcome {
		for i := range out {
			if out[i].code == 0 {
				out[i] = o
			}
		}
		return out
	}
	if r.Code != 354 {
		if r.Class() == 2 || r.Class() == 3 { // any other 2xx/3xx is not "send the data"
			cn.broken = true
			return pending(outcome{proto.ResultDeferral, fmt.Sprintf("Connected to %s but it answered DATA with %s. (#4.5.0)", host, r)})
		}
		return pending(fromReply(r, fmt.Sprintf("%s failed on DATA command.", host)))
	}

	// early handles a peer that spoke during the data. A 4xx or 5xx it
	// sent is its verdict (some servers reject an over-size message
	// mid-stream, then hang up); anything else, a 2xx above all, is a
	// protocol error: never a delivery.
	early := func(what string, err error) []outcome {
		if errors.Is(err, errProtocol) {
			if r, rerr := cn.reply(); rerr == nil && (r.Class() == 4 || r.Class() == 5) {
				cn.broken = true
				return pending(fromReply(r, fmt.Sprintf("%s rejected the message before the end of data.", host)))
			}
		}
		return pending(outcome{proto.ResultDeferral, fmt.Sprintf("Connected to %s but %s: %v. (#4.5.0)", host, what, err)})
	}

	// The data, then the dot.
	if err := cn.silent(); err != nil {
		return early("it did not wait for the message", err)
	}
	if err := msg.writeTo(cn.bw); err != nil {
		cn.broken = true
		if errors.Is(err, os.ErrDeadlineExceeded) {
			err = fmt.Errorf("timed out writing the message")
		}
		return pending(outcome{proto.ResultDeferral, fmt.Sprintf("Connected to %s but sending the message failed: %v. (#4.4.2)", host, err)})
	}
	if err := cn.flush(); err != nil {
		return pending(outcome{proto.ResultDeferral, fmt.Sprintf("Connected to %s but sending the message failed: %v. (#4.4.2)", host, err)})
	}
	if err := cn.silent(); err != nil {
		return early("it answered before the end of the message, so it was not delivered", err)
	}
	cn.write(".")
	if err := cn.flush(); err != nil {
		return pending(outcome{proto.ResultDeferral, fmt.Sprintf("Connected to %s but the connection died sending the end of data. Possible duplicate! (#4.4.2)", host)})
	}
	r, err = cn.reply()
	if err != nil {
		return pending(outcome{proto.ResultDeferral, fmt.Sprintf("Connected to %s but the connection died waiting for the reply to the end of data (%v). Possible duplicate! (#4.4.2)", host, err)})
	}
	if r.Class() == 2 {
		// How the message travelled, for send's log and `goqmail queue
		// show` (docs/outbound.md): qmail's text, then "/TLS: ...".
		o := fromReply(r, fmt.Sprintf("%s accepted message.", host))
		o.text += "/TLS: " + cn.tlsSummary()
		return pending(o)
	}
	if r.Class() == 3 {
		cn.broken = true
	}
	return pending(fromReply(r, fmt.Sprintf("%s failed after I sent the message.", host)))
}

// maxSize is the peer's SIZE limit (RFC 1870 4), 0 when none is given.
func (cn *conn) maxSize() int64 {
	p, ok := cn.ext["SIZE"]
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}
