package remote

import (
	"context"
	"path/filepath"
	"testing"

	"goqmail/internal/metrics"
)

// TestTLSOutcomesCounted: each session counts once by how it used TLS:
// unverified STARTTLS, verified where the domain requires it, plain text
// when the server offers none, and a failed verification.
func TestTLSOutcomesCounted(t *testing.T) {
	pk := getPKI(t)
	for _, tc := range []struct {
		name, domain string
		sv           server
		require      bool
		want         string
	}{
		{"opportunistic", "other.test", server{tls: pk.server}, false, "unverified"},
		{"verified", "tls.test", server{tls: pk.server}, true, "verified"},
		{"plain", "other.test", server{}, false, "not_offered"},
		{"wrong name", "other.test", server{tls: pk.server}, true, "failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startPeer(t, "127.0.0.2", 0, tc.sv.serve)
			c := tlsClient(t, tc.domain, p)
			c.Metrics = metrics.New(metrics.FromRemote, filepath.Join(t.TempDir(), "none.sock"))
			j := job(tc.domain, "x\n", "a")
			j.RequireTLS = tc.require
			c.Deliver(context.Background(), j)
			s := c.Metrics.Snapshot()
			for _, o := range metrics.RemoteTLS.Labels[0].Values {
				want := uint64(0)
				if o == tc.want {
					want = 1
				}
				if got := s.Get(metrics.RemoteTLS, o).Count; got != want {
					t.Errorf("%s: %d, want %d", o, got, want)
				}
			}
		})
	}
}
