package e2e

// The web in a real browser (issue 15): Debian's chromium against the
// real goqmaild with goqmail-web, goqmail-auth, the mailbox sessions as
// goqmailv and the admin session, with mail arriving over SMTP (swaks) and
// read back over POP3 (Python's poplib) and IMAP (Dovecot).

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// TestWebmailReadSendMove: ann reads a message that came by SMTP and
// downloads its attachment; she writes to bob with a file attached, and bob
// finds it over POP3 and in Dovecot's IMAP; she makes a folder, moves the
// message there, and Dovecot lists the folder with the message in it.
func TestWebmailReadSendMove(t *testing.T) {
	requireTool(t, "swaks")
	w := newWebSite(t)
	b := newBrowser(t)

	// A message with an attachment, by SMTP.
	attach := filepath.Join(t.TempDir(), "report.txt")
	attachBody := "quarterly figures: 42\n"
	os.WriteFile(attach, []byte(attachBody), 0o644)
	r := swaks(t, w.s, "--from", "carol@example.org", "--to", webAnn, "--header", "Subject: Figures for ann",
		"--body", "Dear Ann, the figures are attached.", "--attach-type", "text/plain", "--attach-name", "report.txt", "--attach", "@"+attach)
	if !acceptedAfterData.MatchString(r.Out) {
		t.Fatalf("swaks:\n%s", r.Out)
	}
	waitFor(t, deliverTimeout, "ann's message", func() bool { return len(listFiles(t, filepath.Join(w.maildir(webAnn), "new"))) == 1 })

	b.open(w, "/login")
	b.shot("login")
	b.login(w, webAnn, webPass)
	if body := b.body(); !strings.Contains(body, "Figures for ann") || !strings.Contains(body, "carol@example.org") {
		t.Fatalf("the list does not show the message:\n%s", body)
	}
	b.shot("mailbox")
	b.openMessage(w, "INBOX", "Figures for ann")
	b.shot("message")
	if body := b.body(); !strings.Contains(body, "the figures are attached") || !strings.Contains(body, "report.txt") {
		t.Fatalf("the message page lacks the text or the attachment:\n%s", body)
	}
	// Download the attachment as the browser does.
	dl := t.TempDir()
	if _, err := chromedp.CallBrowser(b.ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dl}); err != nil {
		t.Fatal(err)
	}
	eval[string](b, `(() => { [...document.querySelectorAll("ul.atts a")].find(a => a.textContent.includes("report.txt")).click(); return "" })()`)
	var got []byte
	waitFor(t, 15*time.Second, "the downloaded attachment", func() bool {
		got, _ = os.ReadFile(filepath.Join(dl, "report.txt"))
		return len(got) > 0
	})
	if string(got) != attachBody {
		t.Errorf("downloaded attachment %q, want %q", got, attachBody)
	}

	// Compose to bob with an upload.
	up := filepath.Join(t.TempDir(), "plan.csv")
	os.WriteFile(up, []byte("step,when\nship,monday\n"), 0o644)
	b.open(w, "/compose?mode=new")
	b.shot("compose")
	b.Do(chromedp.SetUploadFiles(chromedp.CSS(`input[name=attach]`), []string{up}))
	b.submit("/compose", map[string]string{"to": webBob, "subject": "Plan for bob", "body": "Bob, the plan is attached.\n"}, "send")
	if body := b.body(); strings.Contains(strings.ToLower(body), "error") && !strings.Contains(body, "Sent") {
		t.Fatalf("sending: %s", body)
	}
	waitFor(t, deliverTimeout, "bob's message", func() bool { return len(listFiles(t, filepath.Join(w.maildir(webBob), "new"))) == 1 })
	// A copy in ann's Sent.
	b.open(w, "/mail?f=Sent")
	if !strings.Contains(b.body(), "Plan for bob") {
		t.Errorf("Sent lacks the copy:\n%s", b.body())
	}

	// Bob over POP3 (goqmail's own), then in Dovecot's IMAP.
	pop := fmt.Sprintf(`
import poplib, ssl, sys
p = poplib.POP3("127.0.0.1", %d, timeout=10)
p.stls(context=ssl._create_unverified_context())
p.user(%q); p.pass_(%q)
n = len(p.list()[1]); print("count", n)
sys.stdout.write(b"\n".join(p.retr(1)[1]).decode())
p.quit()
`, w.POP3, webBob, webPass)
	out, err := exec.Command("/usr/bin/python3", "-c", pop).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "count 1") || !strings.Contains(string(out), "Subject: Plan for bob") ||
		!strings.Contains(string(out), "From: "+webAnn) || !regexp.MustCompile(`Content-Disposition: attachment; filename="?plan.csv`).MatchString(string(out)) {
		t.Errorf("bob over POP3: %v\n%s", err, out)
	}

	// ann makes a folder and moves the SMTP message there.
	b.open(w, "/folders")
	b.submit("/folders/create", map[string]string{"name": "Projects"}, "")
	b.openMessage(w, "INBOX", "Figures for ann")
	b.submit("/msg/move", map[string]string{"to": "Projects"}, "")
	b.open(w, "/mail?f=Projects")
	if !strings.Contains(b.body(), "Figures for ann") {
		t.Fatalf("Projects does not list the moved message:\n%s", b.body())
	}

	if !asRoot {
		// Dovecot switches to the mailbox owner: the rest needs root.
		t.Log("not checked without root: what Dovecot's IMAP shows of the move")
		return
	}
	port := startDovecot(t, w.s, "imap")
	imap := fmt.Sprintf(`
import imaplib, sys
for who in (%q, %q):
    m = imaplib.IMAP4("127.0.0.1", %d)
    m.login(who, %q)
    typ, boxes = m.list()
    print(who, "folders", b" ".join(boxes).decode())
    for box in ("INBOX", "Projects"):
        typ, data = m.select(box)
        if typ != "OK":
            continue
        n = int(data[0])
        print(who, box, n)
        for i in range(1, n + 1):
            typ, d = m.fetch(str(i), "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            print(who, box, d[0][0].decode(), d[0][1].decode().strip())
    m.logout()
`, webAnn, webBob, port, webPass)
	out, err = exec.Command("/usr/bin/python3", "-c", imap).CombinedOutput()
	o := string(out)
	if err != nil || !strings.Contains(o, `"Projects"`) && !strings.Contains(o, " Projects") {
		t.Fatalf("Dovecot does not list ann's new folder: %v\n%s", err, o)
	}
	if !strings.Contains(o, webAnn+" Projects 1") || !strings.Contains(o, "Subject: Figures for ann") ||
		!strings.Contains(o, webAnn+" INBOX 0") {
		t.Errorf("Dovecot does not see the move:\n%s", o)
	}
	if !strings.Contains(o, "\\Seen") {
		t.Errorf("the message ann read is not \\Seen in Dovecot:\n%s", o)
	}
	if !strings.Contains(o, webBob+" INBOX 1") || !strings.Contains(o, "Subject: Plan for bob") {
		t.Errorf("bob's IMAP does not show the message from the web:\n%s", o)
	}
	if ran := b.Ran(); len(ran) > 0 {
		t.Errorf("a script ran in the webmail: %q", ran)
	}
}

// TestWebVacationAnswersOnce: a vacation reply set in the browser answers
// the first message of a sender and not the second.
func TestWebVacationAnswersOnce(t *testing.T) {
	requireTool(t, "swaks")
	w := newWebSite(t)
	b := newBrowser(t)
	b.login(w, webAnn, webPass)
	b.open(w, "/settings")
	b.shot("settings")
	b.submit("/settings/vacation", map[string]string{"on": "1", "subject": "Away until Monday", "body": "I am away; I will answer on Monday.", "days": "7"}, "")
	for i := 1; i <= 2; i++ {
		r := swaks(t, w.s, "--from", webBob, "--to", webAnn, "--header", fmt.Sprintf("Subject: question %d", i), "--body", "are you there?")
		if !acceptedAfterData.MatchString(r.Out) {
			t.Fatalf("swaks:\n%s", r.Out)
		}
	}
	waitFor(t, deliverTimeout, "ann's two messages", func() bool { return len(listFiles(t, filepath.Join(w.maildir(webAnn), "new"))) == 2 })
	waitFor(t, deliverTimeout, "the vacation reply", func() bool { return len(listFiles(t, filepath.Join(w.maildir(webBob), "new"))) >= 1 })
	time.Sleep(2 * time.Second) // a second reply, if any, would come now
	replies := listFiles(t, filepath.Join(w.maildir(webBob), "new"))
	if len(replies) != 1 {
		t.Fatalf("bob got %d vacation replies, want 1", len(replies))
	}
	msg, _ := os.ReadFile(replies[0])
	if !bytes.Contains(msg, []byte("Subject: Away until Monday")) || !bytes.Contains(msg, []byte("Auto-Submitted: auto-replied")) ||
		!bytes.Contains(msg, []byte("I am away")) {
		t.Errorf("the reply:\n%s", msg)
	}
}

// TestWebAdmin: the site administrator adds a user who can then log in; a
// domain's postmaster sees only its domain and is refused another's pages.
func TestWebAdmin(t *testing.T) {
	w := newWebSite(t)
	b := newBrowser(t)
	b.login(w, webBoss, webPass)
	b.open(w, "/admin/users?d=web.test")
	b.submit("/admin/user/add", map[string]string{"address": "newbie@web.test", "password": "fresh pass 9"}, "")
	b.open(w, "/admin/users?d=web.test")
	if !strings.Contains(b.body(), "newbie@web.test") {
		t.Fatalf("the users page does not list the new user:\n%s", b.body())
	}
	b.shot("admin-users")
	b.open(w, "/admin/queue")
	b.shot("admin-queue")
	b.logout(w)
	b.login(w, "newbie@web.test", "fresh pass 9")

	b.logout(w)
	b.login(w, webPM, webPass)
	b.open(w, "/admin/domains")
	body := b.body()
	if !strings.Contains(body, "web.test") || strings.Contains(body, "other.test") {
		t.Errorf("the postmaster of web.test sees:\n%s", body)
	}
	for _, path := range []string{"/admin/users?d=other.test", "/admin/aliases?d=other.test", "/admin/queue", "/admin/log"} {
		resp, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(w.URL+path))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status != 403 {
			t.Errorf("postmaster of web.test: %s answered %d, want 403", path, resp.Status)
		}
		if strings.Contains(b.body(), webZed) {
			t.Errorf("%s shows a user of other.test", path)
		}
	}
}

// TestWebCSRFFromAnotherOrigin: a page of another origin on the same host
// (so the same site: SameSite cookies go with its requests) makes the
// logged-in browser post the forwarding form. The front refuses it and
// nothing changes; the same form from the front's own page works.
func TestWebCSRFFromAnotherOrigin(t *testing.T) {
	w := newWebSite(t)
	b := newBrowser(t)
	b.login(w, webAnn, webPass)
	evil := httptest.NewTLSServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(rw, `<!doctype html><form id=f method=post action="%s/settings/forward">
<input name=forward value="thief@evil.example"><input name=keepcopy value=1><input name=csrf value=guess></form>
<script>document.getElementById("f").submit()</script>`, w.URL)
	}))
	defer evil.Close()
	b.Do(chromedp.Navigate(evil.URL + "/"))
	waitFor(t, 10*time.Second, "the forged post to be answered", func() bool {
		return strings.HasPrefix(b.location(w), "/")
	})
	b.Do(chromedp.Sleep(settle))
	if body := b.body(); !strings.Contains(body, "not sent from this site") && !strings.Contains(body, "Refused") {
		t.Errorf("the forged post was not refused; the page says:\n%s", body)
	}
	dotqmail := filepath.Join(w.s.Root, "vmail", "web.test", ".qmail-ann")
	if b, err := os.ReadFile(dotqmail); err == nil && strings.Contains(string(b), "thief") {
		t.Fatalf("the forged post set forwarding:\n%s", b)
	}
	// The same change from the front's own form is taken.
	b.open(w, "/settings")
	b.submit("/settings/forward", map[string]string{"forward": "friend@example.org", "keepcopy": "1"}, "")
	got, err := os.ReadFile(dotqmail)
	if err != nil || !strings.Contains(string(got), "friend@example.org") {
		t.Errorf("the front's own form did not set forwarding: %v\n%s", err, got)
	}
}
