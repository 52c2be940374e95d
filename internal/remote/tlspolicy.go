package remote

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"goqmail/internal/mtasts"
	"goqmail/internal/route"
	"goqmail/internal/tlsrpt"
)

// The outbound TLS policies, strongest first (RFC 8461 2: DANE wins over
// MTA-STS for a host with usable TLSA records):
//
//   - DANE (RFC 7672), when Client.DANE is set, the MX RRset validated
//     and the MX host has validated TLSA records: STARTTLS required and
//     the certificate must match a DANE-EE (3) or DANE-TA (2) record;
//     a host without TLSA records (securely denied, or insecure) falls
//     back to the rules below; a host whose TLSA lookup fails is skipped
//     (RFC 7672 2.2); a host whose records are all unusable gets TLS
//     without authentication, still no plaintext (RFC 7672 2.2, 3.1.3).
//   - MTA-STS in mode enforce (RFC 8461 4, 5): only MX hosts the policy
//     names, only TLS with a WebPKI-valid certificate for the MX name;
//     in mode testing the mail goes as usual and failures are reported.
//   - control/tlsdestinations: as MTA-STS enforce, without the MX names.
//   - Otherwise opportunistic STARTTLS (RFC 7435).
//
// Any failure of a required policy moves on to the next host and, when
// none is left, defers with #4.7.5: never plaintext, never bounce.

// Policy types of RFC 8460 4.3, for the outcome reports.
const (
	PolicySTS  = "sts"
	PolicyTLSA = "tlsa"
	PolicyNone = "no-policy-found"
)

// TLSOutcome is what one delivery attempt to one host taught about TLS,
// for TLS-RPT (RFC 8460) and the logs.
type TLSOutcome = tlsrpt.Outcome

// domainTLS is what the policies say about one recipient domain.
type domainTLS struct {
	domain    string
	sts       *mtasts.Policy // nil: none in force
	stsLookup mtasts.Lookup
	secureMX  bool // DANE may apply: the MX RRset (or its absence) validated
}

// summary names the domain's policies for the log of a failed delivery.
func (d domainTLS) summary() string {
	var p []string
	if d.secureMX {
		p = append(p, "DNSSEC-signed MX (DANE where TLSA records exist)")
	}
	if d.sts != nil {
		p = append(p, "MTA-STS "+string(d.sts.Mode)+" id "+d.stsLookup.ID)
	}
	if len(p) == 0 {
		return ""
	}
	return strings.Join(p, ", ")
}

func (d domainTLS) stsEnforce() bool { return d.sts != nil && d.sts.Mode == mtasts.Enforce }

// domainPolicy looks up the domain-wide part of the policies. Routes
// from smtproutes are the administrator's choice and get neither DANE
// nor MTA-STS (control/tlsdestinations covers them).
func (c *Client) domainPolicy(ctx context.Context, domain string, plan route.Plan) domainTLS {
	d := domainTLS{domain: strings.ToLower(domain)}
	if plan.Route != nil || strings.HasPrefix(domain, "[") {
		return d
	}
	if c.DANE != nil {
		sec, err := c.DANE.SecureMX(ctx, domain)
		if err != nil {
			c.logf("%s: DNSSEC status of the MX records unknown, no DANE: %v", domain, err)
		}
		d.secureMX = sec && err == nil
	}
	if c.MTASTS != nil {
		d.stsLookup = c.MTASTS.Lookup(ctx, domain)
		d.sts = d.stsLookup.Policy
		if d.stsLookup.Failure != "" {
			c.logf("%s: MTA-STS: %s: %s", domain, d.stsLookup.Failure, d.stsLookup.Detail)
			c.report(TLSOutcome{Domain: d.domain, PolicyType: PolicySTS, PolicyID: d.stsLookup.ID, Failure: d.stsLookup.Failure, Detail: d.stsLookup.Detail})
		}
	}
	return d
}

// targetOpts adds what the policies demand of one target to o, or
// returns the setupError that rules the target out.
func (c *Client) targetOpts(ctx context.Context, d domainTLS, o sessionOpts, t route.Target) (sessionOpts, error) {
	o.policyDomain = d.domain
	if d.sts != nil {
		o.stsID, o.stsMX = d.stsLookup.ID, d.sts.MX
	}
	if d.secureMX && t.Name != "" {
		// MX delivery is port 25 (RFC 7672 2.2.3: _25._tcp.MXHOST), also
		// when a test network moves the port (Client.Port).
		recs, secure, err := c.DANE.LookupTLSA(ctx, t.Name, route.DefaultPort)
		switch {
		case err != nil && !errors.Is(err, route.ErrNotFound):
			c.report(TLSOutcome{Domain: d.domain, PolicyType: PolicyTLSA, MXHost: t.Name, Failure: "dnssec-invalid", Detail: err.Error()})
			return o, &setupError{text: fmt.Sprintf("Sorry, the TLSA records of %s could not be looked up (DANE, RFC 7672 2.2): %v. (#4.7.5)", t.Name, err), err: err}
		case err == nil && secure:
			o.dane = usableTLSA(recs)
			o.requireTLS, o.why = true, "DANE"
			if len(o.dane) == 0 {
				c.logf("%s: no usable TLSA record: TLS without authentication (RFC 7672 2.2)", t.Name)
			}
			return o, nil
		}
		// Securely no TLSA records, or records that did not validate:
		// no DANE for this host.
	}
	switch {
	case d.stsEnforce():
		if !d.sts.Matches(t.Name) {
			c.report(TLSOutcome{Domain: d.domain, PolicyType: PolicySTS, PolicyID: o.stsID, Policy: o.stsMX, MXHost: t.Name, Addr: t.Addr.String(), Failure: "validation-failure", Detail: "MX host not in the policy"})
			return o, &setupError{text: fmt.Sprintf("Sorry, the MX host %s of %s is not named by its MTA-STS policy (RFC 8461 4.1). (#4.7.5)", t.Name, d.domain)}
		}
		o.requireVerified, o.requireTLS, o.why = true, true, "MTA-STS enforce"
	case d.sts != nil:
		o.stsTesting = true
	}
	return o, nil
}

// usableTLSA keeps the records RFC 7672 lets SMTP use: DANE-TA(2) and
// DANE-EE(3) with a known selector and matching type (3.1.3: PKIX-TA(0)
// and PKIX-EE(1) are unusable).
func usableTLSA(recs []route.TLSA) []route.TLSA {
	var out []route.TLSA
	for _, r := range recs {
		if (r.Usage == 2 || r.Usage == 3) && r.Selector <= 1 && r.MatchingType <= 2 {
			out = append(out, r)
		}
	}
	return out
}

// tlsaMatches reports whether cert matches r's selector and data.
func tlsaMatches(r route.TLSA, cert *x509.Certificate) bool {
	data := cert.Raw
	if r.Selector == 1 {
		data = cert.RawSubjectPublicKeyInfo
	}
	switch r.MatchingType {
	case 1:
		h := sha256.Sum256(data)
		data = h[:]
	case 2:
		h := sha512.Sum512(data)
		data = h[:]
	}
	return bytes.Equal(data, r.Data)
}

// verifyDANE checks the peer's chain against the TLSA records (RFC 7672
// 3.1, 3.2): DANE-EE matches the leaf, with no name or expiry check;
// DANE-TA matches a certificate the server sent, which must then issue
// the leaf, valid now and for the MX host name.
func verifyDANE(recs []route.TLSA, chain []*x509.Certificate, name string, now time.Time) (string, error) {
	if len(chain) == 0 {
		return "", errors.New("no certificate")
	}
	leaf := chain[0]
	for _, r := range recs {
		if r.Usage == 3 && tlsaMatches(r, leaf) {
			return "DANE-EE", nil
		}
	}
	var lastErr error = errors.New("no TLSA record matches the certificate chain")
	for _, r := range recs {
		if r.Usage != 2 {
			continue
		}
		for i, ta := range chain {
			if !tlsaMatches(r, ta) {
				continue
			}
			roots := x509.NewCertPool()
			roots.AddCert(ta)
			inter := x509.NewCertPool()
			for _, c := range chain[1:i] {
				inter.AddCert(c)
			}
			if i == 0 {
				lastErr = errors.New("a DANE-TA record matches the server's own certificate")
				continue
			}
			_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: name, CurrentTime: now})
			if err == nil {
				return "DANE-TA", nil
			}
			lastErr = fmt.Errorf("DANE-TA: %w", err)
		}
	}
	return "", lastErr
}

// verifyWebPKI checks the chain against roots (nil: the system's) for
// the MX host name, as MTA-STS and tlsdestinations require.
func verifyWebPKI(roots *x509.CertPool, chain []*x509.Certificate, name string, now time.Time) error {
	if len(chain) == 0 {
		return errors.New("no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: name, CurrentTime: now})
	return err
}

// errDANE marks a certificate that matches no TLSA record.
var errDANE = errors.New("DANE")

// failureType names a certificate failure the way RFC 8460 4.3 does.
func failureType(err error) string {
	var he x509.HostnameError
	var ie x509.CertificateInvalidError
	var ua x509.UnknownAuthorityError
	switch {
	case errors.As(err, &he):
		return "certificate-host-mismatch"
	case errors.As(err, &ie) && ie.Reason == x509.Expired:
		return "certificate-expired"
	case errors.As(err, &ua):
		return "certificate-not-trusted"
	}
	return "validation-failure"
}

// verifier returns the VerifyConnection function of a handshake under o,
// which sets *how to the authentication that succeeded.
func (c *Client) verifier(o sessionOpts, name string, how *string, testFail *error) func(tls.ConnectionState) error {
	var roots *x509.CertPool
	if c.TLSConfig != nil {
		roots = c.TLSConfig.RootCAs
	}
	return func(cs tls.ConnectionState) error {
		now := time.Now()
		switch {
		case len(o.dane) > 0:
			m, err := verifyDANE(o.dane, cs.PeerCertificates, name, now)
			if err != nil {
				return fmt.Errorf("%w: %w", errDANE, err)
			}
			*how = m
		case o.requireVerified:
			if err := verifyWebPKI(roots, cs.PeerCertificates, name, now); err != nil {
				return err
			}
			*how = "WebPKI"
		case o.stsTesting:
			// Reported, never enforced (RFC 8461 5: testing mode).
			*testFail = verifyWebPKI(roots, cs.PeerCertificates, name, now)
		}
		return nil
	}
}

// report hands an outcome to Client.Report.
func (c *Client) report(o TLSOutcome) {
	if c.Report != nil {
		c.Report(o)
	}
}
