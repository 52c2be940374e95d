package smtpd

import (
	"slices"
	"testing"
)

func TestParseKinds(t *testing.T) {
	for _, tc := range []struct {
		value   string
		n       int
		want    []Kind
		wantErr bool
	}{
		{"", 2, []Kind{KindSMTP, KindSMTP}, false},
		{"smtp,submission,smtps", 3, []Kind{KindSMTP, KindSubmission, KindSMTPS}, false},
		{" SMTPS , smtp", 2, []Kind{KindSMTPS, KindSMTP}, false},
		{"smtp,submission", 3, nil, true},
		{"smtp,pop3", 2, nil, true},
		{"smtp,", 2, nil, true},
	} {
		got, err := ParseKinds(tc.value, tc.n)
		if (err != nil) != tc.wantErr || !slices.Equal(got, tc.want) {
			t.Errorf("ParseKinds(%q, %d) = %v, %v; want %v (error %v)", tc.value, tc.n, got, err, tc.want, tc.wantErr)
		}
	}
	for k := KindSMTP; k <= KindSMTPS; k++ {
		if back, err := ParseKind(k.String()); err != nil || back != k {
			t.Errorf("ParseKind(%q) = %v, %v", k, back, err)
		}
	}
	if !KindSubmission.authRequired() || !KindSMTPS.authRequired() || KindSMTP.authRequired() {
		t.Error("authRequired: only the submission kinds require AUTH")
	}
}
