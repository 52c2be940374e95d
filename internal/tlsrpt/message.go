package tlsrpt

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// JSON renders r in RFC 8460 4.4's format.
func (r Report) JSON(org, contact, id string) ([]byte, error) {
	type failure struct {
		ResultType   string `json:"result-type"`
		ReceivingMX  string `json:"receiving-mx-hostname,omitempty"`
		ReceivingIP  string `json:"receiving-ip,omitempty"`
		Count        int64  `json:"failed-session-count"`
		AdditionInfo string `json:"additional-information,omitempty"`
	}
	type policy struct {
		Policy struct {
			Type    string   `json:"policy-type"`
			Strings []string `json:"policy-string,omitempty"`
			Domain  string   `json:"policy-domain"`
		} `json:"policy"`
		Summary struct {
			Success int64 `json:"total-successful-session-count"`
			Failure int64 `json:"total-failure-session-count"`
		} `json:"summary"`
		Failures []failure `json:"failure-details,omitempty"`
	}
	var doc struct {
		Org       string `json:"organization-name"`
		DateRange struct {
			Start string `json:"start-datetime"`
			End   string `json:"end-datetime"`
		} `json:"date-range"`
		Contact  string   `json:"contact-info"`
		ReportID string   `json:"report-id"`
		Policies []policy `json:"policies"`
	}
	doc.Org, doc.Contact, doc.ReportID = org, contact, id
	doc.DateRange.Start = r.Start.UTC().Format(time.RFC3339)
	doc.DateRange.End = r.End.UTC().Format(time.RFC3339)
	for _, p := range r.Policies {
		var jp policy
		jp.Policy.Type, jp.Policy.Strings, jp.Policy.Domain = p.Type, p.Strings, r.Domain
		jp.Summary.Success = p.Success
		for _, f := range p.Failures {
			jp.Summary.Failure += f.Count
			jp.Failures = append(jp.Failures, failure{f.Result, f.MXHost, f.IP, f.Count, f.Info})
		}
		doc.Policies = append(doc.Policies, jp)
	}
	return json.MarshalIndent(doc, "", "  ")
}

// Message is the report mail of RFC 8460 5.3: multipart/report with
// report-type tlsrpt, a text part, and the JSON gzipped as
// application/tlsrpt+gzip, named as 5.1 says. from is the sender
// (control/tlsrptfrom), submitter this host's domain.
func (r Report) Message(from, submitter string, to []string, now time.Time) ([]byte, string, error) {
	var rnd [8]byte
	rand.Read(rnd[:])
	id := fmt.Sprintf("%s.%s@%s", r.Start.UTC().Format("20060102"), hex.EncodeToString(rnd[:]), submitter)
	js, err := r.JSON(submitter, "mailto:"+from, id)
	if err != nil {
		return nil, "", err
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(js)
	zw.Close()
	boundary := "tlsrpt-" + hex.EncodeToString(rnd[:])
	file := fmt.Sprintf("%s!%s!%d!%d!%s.json.gz", submitter, r.Domain, r.Start.Unix(), r.End.Unix(), hex.EncodeToString(rnd[:4]))
	var b strings.Builder
	fmt.Fprintf(&b, "From: <%s>\n", from)
	fmt.Fprintf(&b, "To: %s\n", "<"+strings.Join(to, ">, <")+">")
	fmt.Fprintf(&b, "Subject: Report Domain: %s Submitter: %s Report-ID: <%s>\n", r.Domain, submitter, id)
	fmt.Fprintf(&b, "Date: %s\n", now.UTC().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s>\n", id)
	fmt.Fprintf(&b, "TLS-Report-Domain: %s\n", r.Domain)
	fmt.Fprintf(&b, "TLS-Report-Submitter: %s\n", submitter)
	b.WriteString("MIME-Version: 1.0\n")
	fmt.Fprintf(&b, "Content-Type: multipart/report; report-type=\"tlsrpt\"; boundary=\"%s\"\n\n", boundary)
	fmt.Fprintf(&b, "--%s\nContent-Type: text/plain; charset=us-ascii\n\n", boundary)
	fmt.Fprintf(&b, "This is the SMTP TLS report (RFC 8460) for %s from %s to %s.\n\n",
		r.Domain, r.Start.UTC().Format(time.RFC3339), r.End.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "--%s\nContent-Type: application/tlsrpt+gzip\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=\"%s\"\n\n", boundary, file)
	enc := base64.StdEncoding.EncodeToString(gz.Bytes())
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\n")
	fmt.Fprintf(&b, "--%s--\n", boundary)
	return []byte(b.String()), id, nil
}
