package smtp

import "testing"

func TestReplyString(t *testing.T) {
	tests := []struct {
		name  string
		reply Reply
		want  string
	}{
		{"single", Reply{250, "", "ok"}, "250 ok\r\n"},
		{"single with enhanced code", Reply{250, "2.0.0", "ok"}, "250 2.0.0 ok\r\n"},
		{"multi-line", Reply{250, "", "mx.example\nPIPELINING\n8BITMIME"},
			"250-mx.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n"},
		{"multi-line with enhanced code", Reply{550, "5.1.1", "no such user\nreally"},
			"550-5.1.1 no such user\r\n550 5.1.1 really\r\n"},
		{"empty text", Reply{250, "", ""}, "250\r\n"},
		{"empty text with enhanced code", Reply{250, "2.0.0", ""}, "250 2.0.0\r\n"},
		{"trailing newline ignored", Reply{221, "", "bye\n"}, "221 bye\r\n"},
		{"empty middle line", Reply{250, "", "a\n\nb"}, "250-a\r\n250-\r\n250 b\r\n"},
		{"empty middle line with enhanced code", Reply{250, "2.0.0", "a\n\nb"},
			"250-2.0.0 a\r\n250-2.0.0\r\n250 2.0.0 b\r\n"},
		{"CRLF separates lines", Reply{451, "4.3.0", "a\r\nb"}, "451-4.3.0 a\r\n451 4.3.0 b\r\n"},
		{"bare CR becomes space", Reply{250, "", "a\rb"}, "250 a b\r\n"},
		{"line end in enhanced code becomes space", Reply{250, "2.0.0\r\n", "x"}, "250 2.0.0   x\r\n"},
		{"354", Reply{354, "", "go ahead"}, "354 go ahead\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.reply.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			prefix := []byte("x")
			if got := string(tt.reply.AppendTo(prefix)); got != "x"+tt.want {
				t.Errorf("AppendTo = %q, want %q", got, "x"+tt.want)
			}
		})
	}
}

func TestReplyClass(t *testing.T) {
	tests := []struct {
		code                 int
		temporary, permanent bool
	}{
		{220, false, false},
		{250, false, false},
		{354, false, false},
		{399, false, false},
		{400, true, false},
		{421, true, false},
		{451, true, false},
		{499, true, false},
		{500, false, true},
		{554, false, true},
		{599, false, true},
		{600, false, false},
	}
	for _, tt := range tests {
		r := Reply{Code: tt.code}
		if r.Temporary() != tt.temporary || r.Permanent() != tt.permanent {
			t.Errorf("%d: Temporary=%v Permanent=%v, want %v %v",
				tt.code, r.Temporary(), r.Permanent(), tt.temporary, tt.permanent)
		}
	}
}
