package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"goqmail/internal/vacation"
)

// The vacation autoresponder through qmail's own mechanism: a .qmail
// program line runs goqmail-vacation as the user for each delivery. Two
// messages from one sender get exactly one reply (from the null sender,
// marked auto-replied, threaded); a list message gets none. The senders
// are extensions of the demo user, so the replies land in Maildirs of
// their own.
func TestVacationRepliesOncePerSender(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{})
	home := demoHome(s)
	vdir := filepath.Join(home, ".goqmail-vacation")
	err := vacation.WriteConfig(vdir, vacation.Config{On: true, Days: 7, Subject: "", Body: "I am away until Monday.\n",
		Addresses: []string{"demo@example.test"}, Socket: filepath.Join(s.Root, "run", "submit.sock")})
	if err != nil {
		t.Fatal(err)
	}
	for _, box := range []string{"AliceMaildir", "ListMaildir"} {
		for _, d := range []string{"", "tmp", "new", "cur"} {
			if err := os.Mkdir(filepath.Join(home, box, d), 0o700); err != nil {
				t.Fatal(err)
			}
		}
	}
	if asRoot {
		uid, gid := lookupIDs(t, "goqmaildemo")
		for _, top := range []string{vdir, filepath.Join(home, "AliceMaildir"), filepath.Join(home, "ListMaildir")} {
			filepath.Walk(top, func(p string, _ os.FileInfo, _ error) error { return os.Chown(p, uid, gid) })
		}
	}
	writeUserFile(t, s, home, ".qmail", "./Maildir/\n|"+filepath.Join(binDir, "goqmail-vacation")+" "+vdir+"\n")
	writeUserFile(t, s, home, ".qmail-alice", "./AliceMaildir/\n")
	writeUserFile(t, s, home, ".qmail-list", "./ListMaildir/\n")

	send := func(from string, args ...string) {
		t.Helper()
		base := []string{"--server", s.Addr, "--timeout", "15", "--from", from, "--helo", "client.example.org", "--to", "demo@example.test"}
		r := runClient(t, nil, "swaks", append(base, args...)...)
		if r.Code != 0 || !acceptedAfterData.MatchString(r.Out) {
			t.Fatalf("swaks from %s: exit %d\n%s", from, r.Code, r.Out)
		}
	}
	send("demo-alice@example.test", "--header", "Subject: lunch?", "--header", "Message-Id: <lunch1@example.test>")
	s.WaitLog(`goqmail-vacation: replied to demo-alice@example\.test`, 1, deliverTimeout)
	send("demo-alice@example.test", "--header", "Subject: lunch again")
	s.WaitLog(`goqmail-vacation: no reply: demo-alice@example\.test was answered within 7 days`, 1, deliverTimeout)
	send("demo-list@example.test", "--header", "Subject: newsletter", "--header", "List-Id: <news.example.test>")
	s.WaitLog(`goqmail-vacation: no reply: list or bulk mail`, 1, deliverTimeout)
	s.WaitMaildir(3, deliverTimeout)
	// Every reply the program submitted is delivered once the queue is empty.
	waitFor(t, deliverTimeout, "an empty queue", func() bool { return len(s.QueueMessages()) == 0 })

	replies := readAll(t, listFiles(t, filepath.Join(home, "AliceMaildir", "new")))
	if len(replies) != 1 {
		t.Fatalf("the sender got %d replies, want exactly 1", len(replies))
	}
	r := replies[0]
	for _, want := range []string{"Return-Path: <>\n", "\nFrom: demo@example.test\n", "\nAuto-Submitted: auto-replied\n",
		"\nSubject: Re: lunch?\n", "\nIn-Reply-To: <lunch1@example.test>\n", "I am away until Monday."} {
		if !strings.Contains(r, want) {
			t.Errorf("reply lacks %q:\n%s", want, r)
		}
	}
	if n := len(listFiles(t, filepath.Join(home, "ListMaildir", "new"))); n != 0 {
		t.Errorf("the list got %d replies", n)
	}
}
