package policy

import "testing"

func TestCheckExistenceTable(t *testing.T) {
	limit := ExistenceConfig{MaxUnknown: 5}
	for _, tc := range []struct {
		name string
		f    ExistenceFacts
		cfg  ExistenceConfig
		want RcptAction
	}{
		{"existing recipient", ExistenceFacts{Existence: RcptExists}, limit, RcptAccept},
		{"existing recipient after many unknown", ExistenceFacts{Existence: RcptExists, UnknownBefore: 50}, limit, RcptAccept},
		{"not checked (remote, postmaster, unreadable home)", ExistenceFacts{Existence: RcptNotChecked}, limit, RcptAccept},
		{"unknown recipient", ExistenceFacts{Existence: RcptUnknown}, limit, RcptRefuseUnknown},
		{"fifth unknown is still refused", ExistenceFacts{Existence: RcptUnknown, UnknownBefore: 4}, limit, RcptRefuseUnknown},
		{"sixth unknown ends the session", ExistenceFacts{Existence: RcptUnknown, UnknownBefore: 5}, limit, RcptDropHarvester},
		{"and so does any later one", ExistenceFacts{Existence: RcptUnknown, UnknownBefore: 40}, limit, RcptDropHarvester},
		{"limit of one", ExistenceFacts{Existence: RcptUnknown, UnknownBefore: 1}, ExistenceConfig{MaxUnknown: 1}, RcptDropHarvester},
		{"relay clients are not harvesters", ExistenceFacts{Existence: RcptUnknown, UnknownBefore: 40, RelayClient: true}, limit, RcptRefuseUnknown},
		{"no limit configured", ExistenceFacts{Existence: RcptUnknown, UnknownBefore: 1000}, ExistenceConfig{}, RcptRefuseUnknown},
		{"lookup failure defers, never refuses", ExistenceFacts{Existence: RcptLookupFailed, UnknownBefore: 40}, limit, RcptDefer},
	} {
		if got := CheckExistence(tc.f, tc.cfg); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestRcptActionString(t *testing.T) {
	for a, want := range map[RcptAction]string{RcptAccept: "accept", RcptRefuseUnknown: "refuse unknown",
		RcptDefer: "defer", RcptDropHarvester: "drop harvester", RcptAction(9): "unknown action"} {
		if got := a.String(); got != want {
			t.Errorf("%d: %q, want %q", int(a), got, want)
		}
	}
}
