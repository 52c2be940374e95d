package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"goqmail/internal/webmbox"
	"goqmail/internal/webrpc"
)

// startWebmbox starts the real goqmail-webmbox session for the demo user,
// as goqmail-auth would: as the user, fd 3 one end of a socketpair.
func startWebmbox(t *testing.T, s *Server) *webrpc.Client {
	t.Helper()
	home := demoHome(s)
	uid, gid := 0, 0
	if asRoot {
		uid, gid = lookupIDs(t, "goqmaildemo")
	}
	return spawnWebmbox(t, webmboxSpec{bin: filepath.Join(binDir, "goqmail-webmbox"), maildir: filepath.Join(home, "Maildir"), dir: home,
		uid: uid, gid: gid, env: []string{"GOQMAIL_ROOT=" + s.Root, "GOQMAIL_WEB_LOGIN=demo", "GOQMAIL_WEB_ADDRESS=demo@example.test",
			"GOQMAIL_WEB_KIND=system", "GOQMAIL_WEB_OWNS=", "HOME=" + home}})
}

func webCall(t *testing.T, c *webrpc.Client, op string, args ...string) *webrpc.Response {
	t.Helper()
	r, err := c.Call(context.Background(), &webrpc.Request{Op: op, Args: args})
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	if r.Status != webrpc.OK {
		t.Fatalf("%s: %v: %s", op, r.Status, r.Text)
	}
	return r
}

// The self-service settings, made through the real mailbox session as
// the user, act at delivery time: a forward and a vacation reply set in
// the webmail reach their Maildirs through goqmaild, and a message sent
// from the webmail goes through the queue and leaves a copy in Sent.
func TestWebmailSettingsActAtDelivery(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{})
	home := demoHome(s)
	for _, box := range []string{"AliceMaildir", "FwdMaildir", "OutMaildir"} {
		for _, d := range []string{"", "tmp", "new", "cur"} {
			if err := os.Mkdir(filepath.Join(home, box, d), 0o700); err != nil {
				t.Fatal(err)
			}
		}
		if asRoot {
			uid, gid := lookupIDs(t, "goqmaildemo")
			filepath.Walk(filepath.Join(home, box), func(p string, _ os.FileInfo, _ error) error { return os.Chown(p, uid, gid) })
		}
	}
	writeUserFile(t, s, home, ".qmail-alice", "./AliceMaildir/\n")
	writeUserFile(t, s, home, ".qmail-fwd", "./FwdMaildir/\n")
	writeUserFile(t, s, home, ".qmail-out", "./OutMaildir/\n")

	c := startWebmbox(t, s)
	webCall(t, c, webmbox.OpSetVacation, "1", "Out of office", "Back soon.", "7", "", "")
	webCall(t, c, webmbox.OpSetForward, "demo-fwd@example.test", "1")
	if owner := fileOwner(t, filepath.Join(home, ".qmail")); owner != demoUID(t) {
		t.Errorf(".qmail owned by uid %d, want the user's", owner)
	}

	r := runClient(t, nil, "swaks", "--server", s.Addr, "--timeout", "15", "--from", "demo-alice@example.test",
		"--helo", "client.example.org", "--to", "demo@example.test", "--header", "Subject: hello")
	if r.Code != 0 || !acceptedAfterData.MatchString(r.Out) {
		t.Fatalf("swaks: exit %d\n%s", r.Code, r.Out)
	}
	s.WaitMaildir(1, deliverTimeout)
	waitFor(t, deliverTimeout, "the forward and the vacation reply", func() bool {
		return len(listFiles(t, filepath.Join(home, "FwdMaildir", "new"))) == 1 && len(listFiles(t, filepath.Join(home, "AliceMaildir", "new"))) == 1
	})
	reply := readAll(t, listFiles(t, filepath.Join(home, "AliceMaildir", "new")))[0]
	if !strings.Contains(reply, "\nSubject: Out of office\n") || !strings.Contains(reply, "\nAuto-Submitted: auto-replied\n") {
		t.Errorf("reply:\n%s", reply)
	}

	sent := webCall(t, c, webmbox.OpSend, "demo@example.test", "demo-out@example.test", "", "", "Grüße", "from the webmail\n")
	if !strings.Contains(sent.Text, "1 recipient") {
		t.Errorf("send: %q", sent.Text)
	}
	waitFor(t, deliverTimeout, "the sent message", func() bool { return len(listFiles(t, filepath.Join(home, "OutMaildir", "new"))) == 1 })
	out := readAll(t, listFiles(t, filepath.Join(home, "OutMaildir", "new")))[0]
	if !strings.Contains(out, "Return-Path: <demo@example.test>\n") || !strings.Contains(out, "\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\n") {
		t.Errorf("sent message:\n%s", out)
	}
	if n := len(listFiles(t, filepath.Join(home, "Maildir", ".Sent", "cur"))); n != 1 {
		t.Errorf("Sent holds %d messages", n)
	}
}
