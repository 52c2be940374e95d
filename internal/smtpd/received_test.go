package smtpd

import (
	"strings"
	"testing"
	"time"
)

func TestReceivedLine(t *testing.T) {
	now := time.Date(2026, 11, 26, 20, 21, 58, 0, time.UTC)
	const date = "; Thu, 26 Nov 2026 20:21:58 +0000\n"
	for _, tc := range []struct {
		name string
		tr   trace
		want string
	}{
		{"HELO", trace{helo: "h", ip: "192.0.2.1"},
			"Received: from unknown (HELO h) (192.0.2.1)\n  by me.example with SMTP" + date},
		{"EHLO", trace{helo: "h", ip: "192.0.2.1", esmtp: true},
			"Received: from unknown (HELO h) (192.0.2.1)\n  by me.example with ESMTP" + date},
		{"TLS (RFC 3848 ESMTPS)", trace{helo: "h", ip: "192.0.2.1", esmtp: true, tls: true},
			"Received: from unknown (HELO h) (192.0.2.1)\n  by me.example with ESMTPS" + date},
		{"TLS, then HELO", trace{helo: "h", ip: "192.0.2.1", tls: true},
			"Received: from unknown (HELO h) (192.0.2.1)\n  by me.example with ESMTPS" + date},
		{"AUTH (ESMTPA)", trace{helo: "h", ip: "192.0.2.1", esmtp: true, authUser: "demo"},
			"Received: from unknown (HELO h) (192.0.2.1) (authenticated user demo)\n  by me.example with ESMTPA" + date},
		{"TLS and AUTH (ESMTPSA)", trace{ip: "2001:db8::1", esmtp: true, tls: true, authUser: "demo@example.org"},
			"Received: from unknown (2001:db8::1) (authenticated user demo@example.org)\n  by me.example with ESMTPSA" + date},
		{"user name cannot break the header", trace{ip: "192.0.2.1", esmtp: true, authUser: "a)\n(b c"},
			"Received: from unknown (192.0.2.1) (authenticated user a???b?c)\n  by me.example with ESMTPA" + date},
	} {
		if got := receivedLine(tc.tr, "me.example", now); got != tc.want {
			t.Errorf("%s:\ngot  %q\nwant %q", tc.name, got, tc.want)
		}
		if strings.Count(receivedLine(tc.tr, "me.example", now), "\n") != 2 {
			t.Errorf("%s: not two lines", tc.name)
		}
	}
}
