package bounce

import "testing"

func TestDecide(t *testing.T) {
	tests := []struct {
		name                 string
		sender, dbTo, dbHost string
		want                 Route
	}{
		{"normal", "alice@example.org", "postmaster", "mail.example.test",
			Route{Sender: "", Rcpt: "alice@example.org"}},
		{"VERP sender is restored", "list-@lists.example-@[]", "postmaster", "mail.example.test",
			Route{Sender: "", Rcpt: "list-@lists.example"}},
		{"double bounce", "", "postmaster", "mail.example.test",
			Route{Sender: "#@[]", Rcpt: "postmaster@mail.example.test", Double: true}},
		{"double bounce without host", "", "postmaster", "",
			Route{Sender: "#@[]", Rcpt: "postmaster", Double: true}},
		{"double bounce discarded", "", "", "mail.example.test",
			Route{Drop: true, Double: true, Why: "double bounce: discarding (doublebounceto is empty)"}},
		{"triple bounce", "#@[]", "postmaster", "mail.example.test",
			Route{Drop: true, Why: "triple bounce: discarding"}},
		// qmail strips "-@[]" before looking at the sender, so these follow.
		{"VERP of the null sender", "-@[]", "postmaster", "h",
			Route{Sender: "#@[]", Rcpt: "postmaster@h", Double: true}},
		{"VERP of the double-bounce sender", "#@[]-@[]", "postmaster", "h",
			Route{Drop: true, Why: "triple bounce: discarding"}},
		{"only the suffix is stripped", "a-@[]@x", "postmaster", "h",
			Route{Rcpt: "a-@[]@x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Decide(tt.sender, tt.dbTo, tt.dbHost); got != tt.want {
				t.Errorf("Decide(%q, %q, %q) = %+v, want %+v", tt.sender, tt.dbTo, tt.dbHost, got, tt.want)
			}
		})
	}
}
