package web

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// A mailbox page asks the session for the list, then for the folders:
// the session then counts the listed folder from the scan the list just
// made (internal/mailstore, count) instead of reading a large folder's
// names a second time. The page still shows both.
func TestMailboxPageListsBeforeCounting(t *testing.T) {
	e := newEnv(t, Limits{})
	b := e.browser()
	b.mustLogin("alice@example.com")
	mb := e.auth.lastMbox()
	before := len(mb.ops())
	r := b.get("/mail?f=INBOX")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, "Archive") || !strings.Contains(r.body, "mail of alice@example.com") {
		t.Fatalf("GET /mail: %d\n%s", r.StatusCode, r.body)
	}
	if got, want := mb.ops()[before:], []string{opList, opFolders}; !slices.Equal(got, want) {
		t.Fatalf("session ops for one page: %v, want %v", got, want)
	}
}
