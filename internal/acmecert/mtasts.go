package acmecert

import (
	"net/http"
	"sync/atomic"

	"goqmail/internal/mtasts"
)

// PolicyHandler serves this host's MTA-STS policy at
// /.well-known/mta-sts.txt (RFC 8461 3.3) as text/plain, for every
// mta-sts.DOMAIN name that points here; everything else is 404.
type PolicyHandler struct {
	p atomic.Pointer[mtasts.Policy]
}

// Set installs the policy to serve (at start and on SIGHUP).
func (h *PolicyHandler) Set(p *mtasts.Policy) { h.p.Store(p) }

func (h *PolicyHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := h.p.Load()
	if p == nil || r.URL.Path != "/.well-known/mta-sts.txt" || r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte(p.String()))
}
