package migrate

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"goqmail/internal/quota"
)

// TestReimportRecountsQuota is issue 10, item 6: mail that reached the old
// mailbox after a first import is copied by a second one, and the
// mailbox's maildirsize must count it. Before, the file copied from the
// old tree (124 bytes in 4 messages) stayed as it was, the delivery
// trusted it, and a user 20 times over quota still received mail.
func TestReimportRecountsQuota(t *testing.T) {
	t.Parallel()
	site := buildOldSite(t)
	root, dir := newRoot(t)
	runImport(t, site, root, dir, false)

	// 20 messages of joe's whole quota (50 MB) each reach the old
	// mailbox. Maildir++ takes a message's size from ",S=" in its name,
	// so the files themselves can stay small.
	const limit = 52428800
	old := filepath.Join(site.vpop, "domains", "virt.example", "joe", "Maildir")
	for i := range 20 {
		name := fmt.Sprintf("17000002%02d.%d.old,S=%d", i, i, limit)
		writeTestFile(t, filepath.Join(old, "new", name), "Subject: big\n\nhello\n", time.Time{})
	}
	_, out := runImport(t, site, root, dir, false)
	if want := "user joe@virt.example: already there, 20 messages copied, 4 already there, over its quota: 1048576124 bytes in 24 messages\n"; !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}

	md := filepath.Join(root, "vmail", "virt.example", "joe", "Maildir")
	b, err := os.ReadFile(filepath.Join(md, "maildirsize"))
	if want := "52428800S\n1048576124 24\n"; err != nil || string(b) != want {
		t.Errorf("maildirsize = %q, %v; want %q", b, err, want)
	}
	// The delivery's decision for a 2000-byte message (docs/virtual.md):
	// it does not fit, and while it is young it is deferred.
	lim := quota.Limits{Bytes: limit}
	usage, fits, err := quota.Check(md, lim, 2000)
	if err != nil || fits {
		t.Fatalf("quota.Check = %+v, fits %v, %v; want over quota", usage, fits, err)
	}
	ok, permanent, text := quota.Decide(usage, lim, 2000, time.Minute)
	if ok || permanent || !strings.Contains(text, "#4.2.2") {
		t.Errorf("Decide = %v, %v, %q; want a temporary 4.2.2", ok, permanent, text)
	}

	// A third run with nothing new leaves the recounted file as it is.
	before := treeState(t, root)
	runImport(t, site, root, dir, false)
	if d := diffStates(before, treeState(t, root)); len(d) > 0 {
		t.Errorf("third run changed ROOT: %v", d)
	}
}

// TestImportRecountsStaleSourceFile: a maildirsize that was already wrong
// in the old tree is not carried over as it is.
func TestImportRecountsStaleSourceFile(t *testing.T) {
	t.Parallel()
	site := buildOldSite(t)
	old := filepath.Join(site.vpop, "domains", "virt.example", "joe", "Maildir")
	writeTestFile(t, filepath.Join(old, "maildirsize"), "52428800S\n0 0\n", time.Time{})
	root, dir := newRoot(t)
	runImport(t, site, root, dir, false)
	md := filepath.Join(root, "vmail", "virt.example", "joe", "Maildir")
	if b, err := os.ReadFile(filepath.Join(md, "maildirsize")); err != nil || string(b) != joeMaildirsize {
		t.Errorf("maildirsize = %q, %v; want %q", b, err, joeMaildirsize)
	}
}

// TestImportProgress: a line every 1000 messages on Progress, and a
// summary at the end of the report.
func TestImportProgress(t *testing.T) {
	t.Parallel()
	site := buildOldSite(t)
	old := filepath.Join(site.vpop, "domains", "virt.example", "joe", "Maildir")
	for i := range 1000 {
		writeTestFile(t, filepath.Join(old, "new", fmt.Sprintf("1700000300.%d.old,S=10", i)), "x", time.Time{})
	}
	root, dir := newRoot(t)
	var out, progress bytes.Buffer
	if _, err := Run(Options{QmailDir: site.qmail, VpopmailDir: site.vpop, Root: root, Dir: dir, Out: &out, Progress: &progress}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"import: 3 domains with 7 users to look at\n",
		"import: 1000 messages copied (now in " + filepath.Join(root, "vmail", "virt.example", "joe", "Maildir") + ")\n",
	} {
		if !strings.Contains(progress.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, progress.String())
		}
	}
	if want := "summary: 3 domains, 7 users, 1004 messages copied (0 already there), 5 not carried over\n"; !strings.HasSuffix(out.String(), want) {
		t.Errorf("report does not end with %q:\n%s", want, out.String())
	}
}
