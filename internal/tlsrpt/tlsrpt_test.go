package tlsrpt

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"

	"goqmail/internal/route"
	"goqmail/internal/route/dnstest"
)

func TestParseRecord(t *testing.T) {
	to, other, err := ParseRecord("v=TLSRPTv1; rua=mailto:tls@example.com,https://r.example.com/x")
	if err != nil || strings.Join(to, ",") != "tls@example.com" || len(other) != 1 {
		t.Fatalf("%v %v %v", to, other, err)
	}
	for _, bad := range []string{"v=TLSRPTv2; rua=mailto:a@b.c", "v=TLSRPTv1;", "v=TLSRPTv1; rua=mailto:not an address"} {
		if _, _, err := ParseRecord(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// One day's outcomes become one report per domain once the day is over,
// with RFC 8460's JSON field names and counts, mailed as RFC 8460 5.3
// says to the domain's rua address; a domain without a record gets none.
func TestDailyReport(t *testing.T) {
	var s Store
	day1 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	sts := []string{"version: STSv1", "mode: enforce", "mx: mx.a.test", "max_age: 86400"}
	for range 3 {
		s.Add(Outcome{Domain: "a.test", PolicyType: "sts", PolicyID: "1", Policy: sts, MXHost: "mx.a.test", Addr: "192.0.2.1"}, day1)
	}
	s.Add(Outcome{Domain: "a.test", PolicyType: "sts", PolicyID: "1", Policy: sts, MXHost: "mx.a.test", Addr: "192.0.2.1",
		Failure: "certificate-host-mismatch", Detail: "x509: wrong name"}, day1)
	s.Add(Outcome{Domain: "B.test", PolicyType: "tlsa", MXHost: "mx.b.test", Addr: "192.0.2.2", Failure: "starttls-not-supported"}, day1)
	if r := s.Take(day1.Add(time.Hour)); len(r) != 0 {
		t.Fatalf("reports before the day ended: %+v", r)
	}
	reports := s.Take(day1.Add(24 * time.Hour))
	if len(reports) != 2 || reports[0].Domain != "a.test" || reports[1].Domain != "b.test" {
		t.Fatalf("reports %+v", reports)
	}
	if again := s.Take(day1.Add(48 * time.Hour)); len(again) != 0 {
		t.Fatalf("a day reported twice: %+v", again)
	}

	dns := dnstest.Start(t, `_smtp._tls.a.test. 300 IN TXT "v=TLSRPTv1; rua=mailto:tlsrpt@a.test"`)
	type sub struct {
		from string
		to   []string
		msg  []byte
	}
	var subs []sub
	var logs []string
	snd := &Sender{Resolver: route.NewDNS(dns.Addr), From: "postmaster@me.test", Submitter: "me.test",
		Submit: func(from string, to []string, msg []byte) error { subs = append(subs, sub{from, to, msg}); return nil },
		Log:    func(f string, a ...any) { logs = append(logs, f) }}
	if n := snd.Send(context.Background(), reports, day1.Add(25*time.Hour)); n != 1 || len(subs) != 1 {
		t.Fatalf("sent %d, submissions %d, log %v", n, len(subs), logs)
	}
	m, err := mail.ReadMessage(bytes.NewReader(subs[0].msg))
	if err != nil {
		t.Fatal(err)
	}
	if subs[0].to[0] != "tlsrpt@a.test" || m.Header.Get("TLS-Report-Domain") != "a.test" || m.Header.Get("TLS-Report-Submitter") != "me.test" ||
		!strings.HasPrefix(m.Header.Get("Subject"), "Report Domain: a.test Submitter: me.test Report-ID: <") {
		t.Errorf("headers %v to %v", m.Header, subs[0].to)
	}
	mt, params, _ := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if mt != "multipart/report" || params["report-type"] != "tlsrpt" {
		t.Fatalf("content type %q", m.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	var doc map[string]any
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if p.Header.Get("Content-Type") != "application/tlsrpt+gzip" {
			continue
		}
		if !strings.HasPrefix(p.FileName(), "me.test!a.test!1772323200!1772409600!") || !strings.HasSuffix(p.FileName(), ".json.gz") {
			t.Errorf("file name %q", p.FileName())
		}
		zr, err := gzip.NewReader(base64.NewDecoder(base64.StdEncoding, p))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.NewDecoder(zr).Decode(&doc); err != nil {
			t.Fatal(err)
		}
	}
	if doc == nil {
		t.Fatal("no application/tlsrpt+gzip part")
	}
	pol := doc["policies"].([]any)[0].(map[string]any)
	sum := pol["summary"].(map[string]any)
	fd := pol["failure-details"].([]any)[0].(map[string]any)
	if doc["date-range"].(map[string]any)["start-datetime"] != "2026-03-01T00:00:00Z" ||
		pol["policy"].(map[string]any)["policy-type"] != "sts" || pol["policy"].(map[string]any)["policy-domain"] != "a.test" ||
		sum["total-successful-session-count"] != 3.0 || sum["total-failure-session-count"] != 1.0 ||
		fd["result-type"] != "certificate-host-mismatch" || fd["receiving-mx-hostname"] != "mx.a.test" || fd["receiving-ip"] != "192.0.2.1" {
		t.Errorf("report JSON %v", doc)
	}
}

func FuzzParseRecord(f *testing.F) {
	f.Add("v=TLSRPTv1; rua=mailto:tls@example.com,https://r.example.com/x")
	f.Add("v=TLSRPTv1;rua=mailto:a@b.c;ext=1")
	f.Fuzz(func(t *testing.T, s string) {
		to, _, err := ParseRecord(s)
		if err != nil {
			return
		}
		for _, a := range to {
			if _, err := mail.ParseAddress(a); err != nil {
				t.Fatalf("%q gave the address %q, which does not parse: %v", s, a, err)
			}
		}
	})
}
