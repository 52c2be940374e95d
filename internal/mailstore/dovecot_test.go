package mailstore

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Dovecot reads what mailstore writes, and mailstore what Dovecot
// writes: folder names (modified UTF-7, "." levels), renames with their
// children, subscriptions, and flags. It runs Debian's doveadm
// (dovecot-imapd; .ci/run installs it) on the Maildir directly, without
// a Dovecot server, and is skipped when doveadm is not installed.
func TestDovecotInterop(t *testing.T) {
	doveadm, err := exec.LookPath("doveadm")
	if err != nil {
		t.Skip("doveadm not installed (apt-get install dovecot-imapd)")
	}
	top := t.TempDir()
	root := filepath.Join(top, "Maildir")
	s := newStoreAt(t, root)
	// Dovecot refuses to touch mail as root: as root, the mailbox is
	// given to nobody, whom Dovecot then runs as.
	uid, gid := os.Getuid(), os.Getgid()
	if uid == 0 {
		uid, gid = 65534, 65534
		for d := top; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
			os.Chmod(d, 0o755)
		}
	}
	conf := filepath.Join(top, "dovecot.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
ssl = no
mail_location = maildir:%[2]s
mail_uid = %[3]d
mail_gid = %[4]d
first_valid_uid = 1
first_valid_gid = 1
`, top, root, uid, gid)), 0o644)
	chown := func() {
		if os.Getuid() == 0 {
			filepath.Walk(root, func(p string, _ os.FileInfo, _ error) error { return os.Lchown(p, uid, gid) })
		}
	}
	dove := func(args ...string) string {
		t.Helper()
		chown()
		if args[0] != "-f" {
			args = append([]string{"-c", conf}, args...)
		} else {
			args = append([]string{"-c", conf, args[0], args[1]}, args[2:]...)
		}
		cmd := exec.Command(doveadm, args...)
		cmd.Env = append(os.Environ(), "HOME="+top, "USER=mailstoretest")
		out, err := cmd.CombinedOutput()
		if err != nil {
			b, _ := os.ReadFile(filepath.Join(top, "dovecot.log"))
			t.Fatalf("doveadm %v: %v\n%s\nlog:\n%s", args, err, out, b)
		}
		return string(out)
	}
	lines := func(out string) []string {
		l := strings.Split(strings.TrimSpace(out), "\n")
		slices.Sort(l)
		return l
	}

	// mailstore writes; Dovecot reads.
	os.WriteFile(filepath.Join(root, subsFile), []byte(subsHeaderV2), 0o600)
	for _, f := range []string{"Café.Sub", "Projects", "Old", "Old.Child", "R&D"} {
		if err := s.CreateFolder(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RenameFolder("Old", "Renamed"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Folders(); err != nil { // creates Drafts, Sent, Junk, Trash
		t.Fatal(err)
	}
	seen, _ := s.Append(Inbox, []byte("Subject: one\r\n\r\nx\r\n"), "")
	if err := s.SetFlags(Inbox, seen, "SF", ""); err != nil {
		t.Fatal(err)
	}
	answered, _ := s.Append(Inbox, []byte("Subject: two\r\n\r\nx\r\n"), "")
	if err := s.SetFlags(Inbox, answered, "RT", ""); err != nil {
		t.Fatal(err)
	}
	s.Append(Inbox, []byte("Subject: three\r\n\r\nx\r\n"), "") // in new/: unseen
	if _, err := s.Move(Inbox, seen, "Projects"); err != nil {
		t.Fatal(err)
	}
	got := lines(dove("mailbox", "list"))
	want := []string{"Café", "Café.Sub", "Drafts", "INBOX", "Junk", "Projects", "R&D", "Renamed", "Renamed.Child", "Sent", "Trash"}
	if !slices.Equal(got, want) {
		t.Errorf("doveadm mailbox list:\n got %q\nwant %q", got, want)
	}
	got = lines(dove("mailbox", "list", "-s"))
	// (Sent was there before the subscriptions file, made by newStoreAt.)
	want = []string{"Café.Sub", "Drafts", "Junk", "Projects", "R&D", "Renamed", "Renamed.Child", "Trash"}
	if !slices.Equal(got, want) {
		t.Errorf("doveadm mailbox list -s (subscribed):\n got %q\nwant %q", got, want)
	}
	flags := map[string]string{}
	out := dove("-f", "tab", "fetch", "mailbox flags hdr.subject", "all")
	for _, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		f := strings.Split(l, "\t")
		if len(f) >= 3 {
			flags[f[0]+" "+strings.TrimSpace(strings.TrimPrefix(f[2], "Subject:"))] = f[1]
		}
	}
	for k, v := range map[string]string{"Projects one": `\Seen \Flagged`, "INBOX two": `\Answered \Deleted`, "INBOX three": ``} {
		if !sameFlags(flags[k], v) {
			t.Errorf("Dovecot's flags of %s: %q, want %q (all: %q)", k, flags[k], v, flags)
		}
	}

	// Dovecot writes; mailstore reads.
	dove("mailbox", "create", "-s", "Dove.Made", "Ünï")
	dove("flags", "add", `\Flagged`, "mailbox", "INBOX", "all")
	names := map[string]bool{}
	fs, err := s.Folders()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		names[f.Name] = true
	}
	if !names["Dove.Made"] || !names["Ünï"] {
		t.Errorf("folders after doveadm mailbox create: %v", names)
	}
	_, es, err := s.List(Inbox, ListOptions{Sort: SortSubject, Asc: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[0].Subject != "three" || es[0].Flags() != "F" || es[1].Flags() != "FRT" {
		for _, e := range es {
			t.Logf("%s %q %q", e.Name, e.Subject, e.Flags())
		}
		t.Errorf("INBOX after doveadm flag add \\Flagged")
	}
	if subs, _ := s.Subscriptions(); !slices.Contains(subs, "Dove.Made") || !slices.Contains(subs, "Ünï") {
		t.Errorf("subscriptions after doveadm: %q", subs)
	}
}

// sameFlags compares IMAP flag lists, without \Recent (Dovecot's
// per-session flag: this is the first session to see the messages).
func sameFlags(a, b string) bool {
	x, y := strings.Fields(a), strings.Fields(b)
	x = slices.DeleteFunc(x, func(f string) bool { return f == `\Recent` })
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}
