package bounce

import (
	"reflect"
	"testing"
)

func TestStatus(t *testing.T) {
	tests := []struct {
		text, status, diag string
	}{
		{"Sorry, no mailbox here by that name. (#5.1.1)", "5.1.1", ""},
		{"Sorry, no mailbox here by that name. (#5.1.1)/", "5.1.1", ""},
		{"Remote host said: 550 5.1.1 <x@y>: unknown user/Giving up on 192.0.2.1.", "5.1.1", "550 5.1.1 <x@y>: unknown user"},
		{"192.0.2.1 does not like recipient./Remote host said: 554 5.7.1 Rejected/Giving up on 192.0.2.1./", "5.7.1", "554 5.7.1 Rejected"},
		// no enhanced code: the class of the reply code
		{"Remote host said: 550 unknown user/", "5.0.0", "550 unknown user"},
		{"Remote host said: 452 mailbox full/I'm not going to try again; this message has been in the queue too long.", "4.0.0", "452 mailbox full"},
		// the enhanced code must agree with the reply code's class
		{"Remote host said: 550 4.2.2 full/", "5.0.0", "550 4.2.2 full"},
		// malformed enhanced codes are ignored
		{"Remote host said: 550 5.01.1 x", "5.0.0", "550 5.01.1 x"},
		{"Remote host said: 550 5.1.1000 x", "5.0.0", "550 5.1.1000 x"},
		{"Remote host said: 550 5.1 x", "5.0.0", "550 5.1 x"},
		{"Remote host said: 550 5.1.1x y", "5.0.0", "550 5.1.1x y"},
		// reply code only, and at the end of the text
		{"Remote host said: 550", "5.0.0", "550"},
		// a reply with its own enhanced code beats our (#...)
		{"Remote host said: 550 5.1.1 no (#5.0.0)", "5.1.1", "550 5.1.1 no (#5.0.0)"},
		// our (#...) beats the bare class of the reply
		{"Remote host said: 553 sorry, that domain isn't allowed to be relayed thru this MTA (#5.7.1)/", "5.7.1", "553 sorry, that domain isn't allowed to be relayed thru this MTA (#5.7.1)"},
		// multi-line replies are joined; a URL keeps its slashes
		{"Remote host said: 550-5.1.1 The email account that you tried to reach does not exist./550 5.1.1  https://support.google.com/mail/?p=NoSuchUser a1si - gsmtp/Giving up on 192.0.2.9./",
			"5.1.1", "550-5.1.1 The email account that you tried to reach does not exist. 550 5.1.1  https://support.google.com/mail/?p=NoSuchUser a1si - gsmtp"},
		// a following line with another code is not a continuation
		{"Remote host said: 550-5.1.1 a/551 5.1.1 b", "5.1.1", "550-5.1.1 a"},
		{"Remote host said: 550 5.1.1 a/550 5.1.1 b", "5.1.1", "550 5.1.1 a"},
		// newline-separated text works too
		{"Remote host said: 550 5.2.1 disabled\nGiving up on 192.0.2.1.\n", "5.2.1", "550 5.2.1 disabled"},
		// the last "Remote host said:" line counts
		{"Remote host said: 450 4.2.0 busy/Remote host said: 550 5.2.2 full", "5.2.2", "550 5.2.2 full"},
		// not a reply
		{"Remote host said: hello/", "5.0.0", ""},
		{"Remote host said: 650 5.1.1 x", "5.0.0", ""},
		{"Remote host said: 5500 x", "5.0.0", ""},
		{"Remote host said:550 5.1.1 x", "5.1.1", "550 5.1.1 x"},
		// a success reply is not a failure status
		{"Remote host said: 250 2.0.0 ok", "5.0.0", "250 2.0.0 ok"},
		// our codes
		{"Sorry. Although I'm listed as a best-preference MX or A for that host,/it isn't in my control/locals file, so I don't treat it as local. (#5.4.6)/", "5.4.6", ""},
		{"mailbox busy (#4.2.1)", "4.2.1", ""},
		{"first (#5.1.1) then (#5.2.2)", "5.2.2", ""},
		{"valid (#5.1.1) then bad (#5.x.2)", "5.1.1", ""},
		{"success code (#2.0.0)", "5.0.0", ""},
		{"leading zero (#5.01.1)", "5.0.0", ""},
		{"unterminated (#5.1.1", "5.0.0", ""},
		{"", "5.0.0", ""},
	}
	for _, tt := range tests {
		status, diag := Status(tt.text)
		if status != tt.status || diag != tt.diag {
			t.Errorf("Status(%q) = %q, %q; want %q, %q", tt.text, status, diag, tt.status, tt.diag)
		}
	}
}

func TestReportLines(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"a/b/", []string{"a", "b"}},
		{"a//b", []string{"a", "b"}},
		{"a\nb\r\nc\x00d", []string{"a", "b", "c", "d"}},
		{"  /   /x  ", []string{"x"}},
		{"  indented/", []string{"  indented"}},
		{"see https://example.com/a/b now/next", []string{"see https://example.com/a/b now", "next"}},
		{"see https://example.com/a/", []string{"see https://example.com/a/"}},
		{"file:///etc/x", []string{"file:///etc/x"}},
		{"http:/x", []string{"http:", "x"}},
		{"", nil},
	}
	for _, tt := range tests {
		if got := reportLines(tt.text); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("reportLines(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}
