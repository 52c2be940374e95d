package policy

import "testing"

func TestCheckSenderTable(t *testing.T) {
	check := SenderConfig{CheckOwnership: true}
	owns := []string{"Demo@Example.test", "alias@example.test"}
	for _, tc := range []struct {
		name string
		f    SenderFacts
		cfg  SenderConfig
		want int
	}{
		{"port 25 stranger", SenderFacts{Sender: "a@b.example"}, check, 250},
		{"port 25 stranger, null sender", SenderFacts{}, check, 250},
		{"submission without AUTH", SenderFacts{Sender: "demo@example.test", AuthRequired: true}, check, 530},
		{"submission without AUTH, null sender", SenderFacts{AuthRequired: true}, check, 530},
		{"submission without AUTH, check off", SenderFacts{Sender: "x@y", AuthRequired: true}, SenderConfig{}, 530},
		{"own address", SenderFacts{Sender: "demo@example.test", AuthRequired: true, Authenticated: true, Owns: owns}, check, 250},
		{"own address in another case", SenderFacts{Sender: "DEMO@EXAMPLE.TEST", Authenticated: true, Owns: owns}, check, 250},
		{"own alias", SenderFacts{Sender: "alias@example.test", Authenticated: true, Owns: owns}, check, 250},
		{"someone else's", SenderFacts{Sender: "boss@example.test", Authenticated: true, Owns: owns}, check, 553},
		{"prefix of an owned address", SenderFacts{Sender: "demo@example.tes", Authenticated: true, Owns: owns}, check, 553},
		{"owns nothing", SenderFacts{Sender: "demo@example.test", Authenticated: true}, check, 553},
		{"null sender while authenticated", SenderFacts{Authenticated: true, Owns: owns}, check, 250},
		{"check off (authsenders 0)", SenderFacts{Sender: "boss@example.test", Authenticated: true, Owns: owns}, SenderConfig{}, 250},
	} {
		got := CheckSender(tc.f, tc.cfg)
		if got.Code != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, got.Code, got.Text, tc.want)
		}
		if got.Code >= 500 && got.Enh[0] != '5' || got.Code == 250 && got.Enh != "2.1.0" {
			t.Errorf("%s: enhanced code %s does not fit %d", tc.name, got.Enh, got.Code)
		}
	}
}
