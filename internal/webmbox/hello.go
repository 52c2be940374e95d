package webmbox

import (
	"path/filepath"
	"strconv"
	"strings"

	"goqmail/internal/quota"
	"goqmail/internal/vdir"
	"goqmail/internal/webrpc"
)

func init() {
	register(OpHello, (*Session).hello)
}

// hello → [[login, address, kind, quota_used_bytes, quota_limit_bytes]].
func (s *Session) hello(req *webrpc.Request) *webrpc.Response {
	q := s.quotaNow()
	return &webrpc.Response{Rows: [][]string{{
		s.Login, s.Address, s.Kind,
		strconv.FormatInt(q.used.Bytes, 10), strconv.FormatInt(q.limit.Bytes, 10),
	}}}
}

// usage is what the quota display shows.
type quotaUsage struct {
	used  quota.Usage
	limit quota.Limits
}

// quota reads the mailbox's usage and limits without changing anything.
//
// Usage comes from the Maildir++ maildirsize file (internal/quota), or a
// count of the Maildir when the file is missing or untrusted. The limit:
// for a virtual user, the directory's mailboxes table (ROOT/vdir, world
// readable), which is what delivery enforces and what a freshly changed
// quota says before the next delivery rewrites maildirsize; when that
// cannot be read, and for system users (whose limits only an admin's
// maildirsize or Dovecot knows), the definition on maildirsize's first
// line. No readable limit shows as 0, "none".
func (s *Session) quotaNow() quotaUsage {
	lim, u, _, err := quota.Read(s.Store.Root)
	if err != nil {
		s.Log.Printf("warning: webmail quota of %s: %v", s.Login, err)
	}
	if s.Kind == "virtual" && s.Root != "" {
		if local, domain, ok := strings.Cut(s.Address, "@"); ok {
			d := vdir.OpenFiles(filepath.Join(s.Root, "vdir"), filepath.Join(s.Root, "vmail"), -1, -1)
			if user, found, err := d.User(local, domain); err == nil && found {
				lim = quota.Limits{Bytes: user.QuotaBytes, Messages: user.QuotaMessages}
			} else if err != nil {
				s.Log.Printf("warning: webmail quota of %s: directory: %v", s.Login, err)
			}
		}
	}
	return quotaUsage{used: u, limit: lim}
}
