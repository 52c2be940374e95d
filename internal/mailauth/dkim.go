package mailauth

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"

	"github.com/emersion/go-msgauth/dkim"
)

// DKIMResult is the outcome of one DKIM-Signature field (RFC 8601 2.7.1):
// pass, fail (the signature or body hash does not match), neutral,
// temperror (the key could not be fetched now) or permerror (a signature
// or key that cannot be used: missing tags, no key, a revoked key, an
// expired signature, rsa-sha1 which RFC 8301 forbids).
type DKIMResult struct {
	Result     string
	Domain     string // d=
	Identifier string // i=
	Selector   string // s=
	Algorithm  string // a=
	BPrefix    string // the first characters of b=, telling signatures apart (RFC 6008)
	Problem    string
}

// MaxSignatures bounds the signatures verified per message (each costs a
// DNS lookup and a public-key operation); later ones are ignored.
const MaxSignatures = 5

// pipeLimit is how much of the message waits in memory while the verifier
// waits for DNS (elasticPipe).
const pipeLimit = 1 << 20

// DKIMVerifier verifies the DKIM signatures of one message, fed to it in
// pieces as smtpd receives it (LF line ends, dots unstuffed). It works
// alongside: go-msgauth's verifier reads the message through an
// elasticPipe in a goroutine of its own, turning LF back into CRLF, the
// form the signer hashed (RFC 6376 3.4). Nothing is kept of the message
// but what the pipe holds.
type DKIMVerifier struct {
	pipe    *elasticPipe
	crlf    []byte
	header  headerCapture
	done    chan struct{}
	results []DKIMResult
	err     error
}

// NewDKIMVerifier starts a verifier whose key lookups go to r, bounded by
// ctx (cancel it to stop the verifier early).
func NewDKIMVerifier(ctx context.Context, r Resolver) *DKIMVerifier {
	v := &DKIMVerifier{pipe: newElasticPipe(pipeLimit), done: make(chan struct{})}
	go v.run(ctx, r)
	return v
}

func (v *DKIMVerifier) run(ctx context.Context, r Resolver) {
	defer close(v.done)
	defer v.pipe.closeRead()
	verifs, err := dkim.VerifyWithOptions(v.pipe, &dkim.VerifyOptions{
		LookupTXT: txtLookup(ctx, r), MaxVerifications: MaxSignatures})
	if err != nil && !errors.Is(err, dkim.ErrTooManySignatures) {
		v.err = err
	}
	// Signatures verified in parallel keep their header order.
	for _, vf := range verifs {
		v.results = append(v.results, dkimResult(vf))
	}
}

// Write takes the next piece of the message.
func (v *DKIMVerifier) Write(p []byte) (int, error) {
	n := len(p)
	v.header.Write(p)
	v.crlf = v.crlf[:0]
	for {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			break
		}
		v.crlf = append(append(v.crlf, p[:i]...), '\r', '\n')
		p = p[i+1:]
	}
	v.crlf = append(v.crlf, p...)
	v.pipe.Write(v.crlf)
	return n, nil
}

// Header is the message's header section as received (LF line ends),
// complete or not (see headerCapture).
func (v *DKIMVerifier) Header() (h []byte, complete bool) {
	return v.header.buf, v.header.done
}

// Results ends the message and waits for the verdicts, or for ctx: a
// verifier still waiting then makes every signature temperror. A message
// with no signature gives none (nil). An error means the message could
// not be read at all (a header without its end): no signature is judged.
func (v *DKIMVerifier) Results(ctx context.Context) ([]DKIMResult, error) {
	v.pipe.closeWrite(io.EOF)
	select {
	case <-v.done:
		fillTags(v.results, v.header.buf)
		return v.results, v.err
	case <-ctx.Done():
		return nil, errors.New("dkim: verification did not finish in time")
	}
}

// Abort stops a verifier whose message will not end (refused, client
// gone). Its goroutine ends once its lookups do.
func (v *DKIMVerifier) Abort() {
	v.pipe.closeWrite(errAborted)
}

var errAborted = errors.New("dkim: message aborted")

func dkimResult(vf *dkim.Verification) DKIMResult {
	res := DKIMResult{Result: "pass", Domain: strings.ToLower(vf.Domain), Identifier: vf.Identifier}
	if vf.Identifier == "@"+vf.Domain {
		res.Identifier = "" // no i= in the signature: the default says nothing
	}
	switch err := vf.Err; {
	case err == nil:
	case dkim.IsTempFail(err):
		res.Result, res.Problem = "temperror", err.Error()
	case dkim.IsPermFail(err):
		res.Result, res.Problem = "permerror", err.Error()
	default:
		res.Result, res.Problem = "fail", err.Error()
	}
	return res
}
