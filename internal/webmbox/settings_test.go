package webmbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"goqmail/internal/dotqmail"
	"goqmail/internal/local"
	"goqmail/internal/logline"
	"goqmail/internal/maildir"
	"goqmail/internal/mailstore"
	"goqmail/internal/vacation"
	"goqmail/internal/webrpc"
	"io"
)

func settingsMap(t *testing.T, s *Session) map[string][]string {
	t.Helper()
	r := selfCall(t, s, OpSettings, nil)
	if r.Status != webrpc.OK {
		t.Fatalf("settings: %v %s", r.Status, r.Text)
	}
	m := map[string][]string{}
	for _, row := range r.Rows {
		m[row[0]] = row[1:]
	}
	return m
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSettingsDefaults(t *testing.T) {
	s, _ := selfSession(t)
	os.WriteFile(filepath.Join(s.Store.Root, "maildirsize"), []byte("5000S,100C\n1200 3\n"), 0o600)
	m := settingsMap(t, s)
	want := map[string]string{"forward": "", "keepcopy": "1", "vacation": "0", "vacdays": "7", "junk": "folder", "quota": "1200 5000 3 100"}
	for k, v := range want {
		if strings.Join(m[k], " ") != v {
			t.Errorf("%s = %q, want %q", k, m[k], v)
		}
	}
	r := selfCall(t, s, OpHello, nil)
	if r.Status != webrpc.OK || strings.Join(r.Rows[0], " ") != "bob bob@example.com system 1200 5000" {
		t.Errorf("hello: %v %q", r.Status, r.Rows)
	}
}

func TestSetForwardKeepsOtherLines(t *testing.T) {
	s, _ := selfSession(t)
	dq := filepath.Join(s.Home, ".qmail")
	os.WriteFile(dq, []byte("# mine\n|/usr/bin/filter\n./Maildir/\n&old@example.org\n./Archive/\n"), 0o644)
	r := selfCall(t, s, OpSetForward, nil, "new@example.org, Other@Example.net", "0")
	if r.Status != webrpc.OK {
		t.Fatalf("%v %s", r.Status, r.Text)
	}
	want := dotMarker + "\n# mine\n|/usr/bin/filter\n./Archive/\n&new@example.org\n&Other@Example.net\n"
	if got := readFile(t, dq); got != want {
		t.Fatalf(".qmail:\n%s\nwant:\n%s", got, want)
	}
	m := settingsMap(t, s)
	if m["forward"][0] != "new@example.org,Other@Example.net" || m["keepcopy"][0] != "0" {
		t.Errorf("settings %v", m)
	}
	// Keeping a copy again puts the mailbox line first.
	selfCall(t, s, OpSetForward, nil, "new@example.org", "1")
	want = dotMarker + "\n./Maildir/\n# mine\n|/usr/bin/filter\n./Archive/\n&new@example.org\n"
	if got := readFile(t, dq); got != want {
		t.Fatalf(".qmail:\n%s\nwant:\n%s", got, want)
	}
	if fi, _ := os.Stat(dq); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", fi.Mode())
	}
	if _, err := dotqmail.Parse([]byte(want), false); err != nil {
		t.Error(err)
	}
}

func TestSetForwardOffRemovesOwnFile(t *testing.T) {
	s, _ := selfSession(t)
	dq := filepath.Join(s.Home, ".qmail")
	selfCall(t, s, OpSetForward, nil, "carol@example.org", "1")
	if got := readFile(t, dq); got != dotMarker+"\n./Maildir/\n&carol@example.org\n" {
		t.Fatalf(".qmail %q", got)
	}
	if r := selfCall(t, s, OpSetForward, nil, "", "1"); r.Status != webrpc.OK {
		t.Fatal(r.Text)
	}
	if _, err := os.Stat(dq); !os.IsNotExist(err) {
		t.Errorf("the file saying only the default delivery is still there: %v", err)
	}
}

func TestSetForwardRefusals(t *testing.T) {
	s, _ := selfSession(t)
	dq := filepath.Join(s.Home, ".qmail")
	for _, tc := range []struct {
		addrs, keep string
		want        webrpc.Status
		text        string
	}{
		{"", "0", webrpc.Invalid, "nowhere"},
		{"bob@example.com", "1", webrpc.Invalid, "loop"},
		{"INFO@example.com", "1", webrpc.Invalid, "loop"},
		{"not-an-address", "1", webrpc.Invalid, "not an address"},
		{"a@example.org\n|rm -rf ~", "1", webrpc.Invalid, "not an address"},
		{"a@example.org", "yes", webrpc.Invalid, "keepcopy"},
	} {
		if r := selfCall(t, s, OpSetForward, nil, tc.addrs, tc.keep); r.Status != tc.want || !strings.Contains(r.Text, tc.text) {
			t.Errorf("%q %q: %v %q", tc.addrs, tc.keep, r.Status, r.Text)
		}
	}
	if _, err := os.Stat(dq); !os.IsNotExist(err) {
		t.Error("a refused change wrote .qmail")
	}
	for _, tc := range []struct {
		data string
		mode os.FileMode
	}{{"\n./Maildir/\n", 0o644}, {"&a@example.org\n", 0o744}, {"+list\n&a@example.org\n", 0o644}} {
		os.WriteFile(dq, []byte(tc.data), tc.mode)
		os.Chmod(dq, tc.mode)
		r := selfCall(t, s, OpSetForward, nil, "x@example.org", "1")
		if r.Status != webrpc.Conflict || !strings.Contains(r.Text, "administrator") {
			t.Errorf("%q: %v %q", tc.data, r.Status, r.Text)
		}
		if got := readFile(t, dq); got != tc.data {
			t.Errorf("%q was rewritten: %q", tc.data, got)
		}
		if r := selfCall(t, s, OpSettings, nil); r.Status != webrpc.Conflict {
			t.Errorf("settings of %q: %v", tc.data, r.Status)
		}
	}
}

func TestSetVacation(t *testing.T) {
	s, _ := selfSession(t)
	vacationProgram = func() (string, error) { return "/opt/goqmail bin/goqmail-vacation", nil }
	dq := filepath.Join(s.Home, ".qmail")
	r := selfCall(t, s, OpSetVacation, nil, "1", "Away", "Back on Monday.\r\n", "3", "", "")
	if r.Status != webrpc.OK {
		t.Fatalf("%v %s", r.Status, r.Text)
	}
	vdir := filepath.Join(s.Home, vacationDirName)
	want := dotMarker + "\n./Maildir/\n|'/opt/goqmail bin/goqmail-vacation' '" + vdir + "'\n"
	if got := readFile(t, dq); got != want {
		t.Fatalf(".qmail:\n%s\nwant:\n%s", got, want)
	}
	c, err := vacation.ReadConfig(vdir)
	if err != nil || !c.On || c.Days != 3 || c.Body != "Back on Monday.\n" || strings.Join(c.Addresses, " ") != "bob@example.com info@example.com" ||
		c.Socket != filepath.Join(s.Root, "run", "submit.sock") {
		t.Fatalf("config %+v %v", c, err)
	}
	m := settingsMap(t, s)
	if m["vacation"][0] != "1" || m["vacsubject"][0] != "Away" || m["vacdays"][0] != "3" || m["vacuntil"][0] != "" {
		t.Errorf("settings %v", m)
	}
	// Forwarding keeps the vacation line.
	selfCall(t, s, OpSetForward, nil, "carol@example.org", "1")
	if got := readFile(t, dq); got != strings.TrimSuffix(want, "\n")+"\n&carol@example.org\n" {
		t.Fatalf(".qmail after forward:\n%s", got)
	}
	selfCall(t, s, OpSetForward, nil, "", "1")
	// Off: the line goes (and with it the file), the text stays.
	if r := selfCall(t, s, OpSetVacation, nil, "0", "Away", "Back on Monday.", "3", "", ""); r.Status != webrpc.OK {
		t.Fatal(r.Text)
	}
	if _, err := os.Stat(dq); !os.IsNotExist(err) {
		t.Errorf(".qmail left: %v", err)
	}
	if m := settingsMap(t, s); m["vacation"][0] != "0" || m["vacbody"][0] != "Back on Monday." {
		t.Errorf("settings after off %v", m)
	}
	for _, bad := range [][]string{{"2", "", "x"}, {"1", "", ""}, {"1", "", "x", "0"}, {"1", "", "x", "many"}, {"1", "", "x", "7", "100", "50"}, {"1", "", "x", "7", "", "1"}} {
		if r := selfCall(t, s, OpSetVacation, nil, bad...); r.Status != webrpc.Invalid {
			t.Errorf("%q: %v %q", bad, r.Status, r.Text)
		}
	}
}

func TestVirtualUserDotQmail(t *testing.T) {
	root := t.TempDir()
	home := filepath.Join(root, "vmail", "example.com", "bob")
	os.MkdirAll(home, 0o755)
	md := filepath.Join(home, "Maildir")
	maildir.Make(md, 0o700)
	st, _ := mailstore.Open(md)
	s := &Session{Store: st, Login: "bob.smith@example.com", Address: "Bob.Smith@example.com", Kind: "virtual", Home: home, Root: root,
		Log: logline.NewTo(io.Discard, "webmbox")}
	if r := selfCall(t, s, OpSetForward, nil, "carol@example.org", "1"); r.Status != webrpc.OK {
		t.Fatal(r.Text)
	}
	got := readFile(t, filepath.Join(root, "vmail", "example.com", ".qmail-bob:smith"))
	if got != dotMarker+"\n./bob/Maildir/\n&carol@example.org\n" {
		t.Fatalf(".qmail-bob:smith %q", got)
	}
}

func TestSetJunk(t *testing.T) {
	s, _ := selfSession(t)
	if r := selfCall(t, s, OpSetJunk, nil, "inbox"); r.Status != webrpc.OK {
		t.Fatal(r.Text)
	}
	if !local.JunkToInbox(s.Store.Root) || settingsMap(t, s)["junk"][0] != "inbox" {
		t.Error("inbox not set")
	}
	selfCall(t, s, OpSetJunk, nil, "folder")
	if local.JunkToInbox(s.Store.Root) || settingsMap(t, s)["junk"][0] != "folder" {
		t.Error("folder not set")
	}
	if r := selfCall(t, s, OpSetJunk, nil, "trash"); r.Status != webrpc.Invalid {
		t.Errorf("bad value: %v", r.Status)
	}
}

// A virtual user whose local part ends in "-default" must not write its
// .qmail-<local>: qmail's -default rule makes that file the instructions
// of every other <prefix>-anything@domain without a file of its own, so
// its forwarding would take their mail.
func TestVirtualDefaultUserCannotWriteDotQmail(t *testing.T) {
	root := t.TempDir()
	for _, local := range []string{"sales-default", "Team-Default"} {
		home := filepath.Join(root, "vmail", "example.com", strings.ToLower(local))
		os.MkdirAll(home, 0o755)
		md := filepath.Join(home, "Maildir")
		maildir.Make(md, 0o700)
		st, _ := mailstore.Open(md)
		s := &Session{Store: st, Login: local + "@example.com", Address: local + "@example.com", Kind: "virtual", Home: home, Root: root,
			Log: logline.NewTo(io.Discard, "webmbox")}
		if r := selfCall(t, s, OpSetForward, nil, "thief@example.org", "1"); r.Status != webrpc.Conflict {
			t.Errorf("%s forward: %v %q, want conflict", local, r.Status, r.Text)
		}
		if r := selfCall(t, s, OpSetVacation, nil, "1", "away", "gone", "7", "", ""); r.Status != webrpc.Conflict {
			t.Errorf("%s vacation: %v %q, want conflict", local, r.Status, r.Text)
		}
		if _, err := os.Stat(filepath.Join(root, "vmail", "example.com", ".qmail-"+strings.ToLower(local))); err == nil {
			t.Errorf(".qmail-%s was written", strings.ToLower(local))
		}
	}
}

// A home directory whose name holds a newline cannot split the vacation
// line: "|'prog' '/home/x" and a line "|id/.goqmail-vacation'" that
// /bin/sh would run. The change is refused and the .qmail file is not
// written (security review of issue 15).
func TestVacationLineHomeWithNewline(t *testing.T) {
	s, _ := selfSession(t)
	vacationProgram = func() (string, error) { return "/opt/goqmail/goqmail-vacation", nil }
	s.Home = filepath.Join(s.Root, "home\n|id")
	if err := os.MkdirAll(s.Home, 0o755); err != nil {
		t.Fatal(err)
	}
	r := selfCall(t, s, OpSetVacation, nil, "1", "Away", "Back on Monday.", "3", "", "")
	if r.Status == webrpc.OK {
		t.Errorf("vacation with a home holding a newline: OK, want a refusal")
	}
	if data, err := os.ReadFile(filepath.Join(s.Home, ".qmail")); err == nil {
		t.Fatalf(".qmail written:\n%s", data)
	}
}
