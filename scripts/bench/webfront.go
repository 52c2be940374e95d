package main

import (
	"crypto/tls"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/smtp"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"goqmail/internal/mailstore"
	"goqmail/internal/testport"
)

// The webmail scenario's end-to-end part (docs/bench.md "Webmail"): the
// whole page through the real programs. goqmaild runs goqmail-web,
// goqmail-auth and, per login, goqmail-webmbox (as goqmailv under root,
// as the invoking user otherwise) on a goqmail directory made by
// `goqmail init`, whose virtual user bench@virtual.test holds the
// 100,000 messages. A Go client logs in over HTTPS as a browser does
// (cookie jar, the login form's CSRF token) and times GET /mail from the
// request to the last byte of the answer.

const (
	webUser = "bench@" + "virtual.test"
	webPass = "bench password 1"
)

// webSite is a goqmail directory with the web on, and its goqmaild once
// started.
type webSite struct {
	root, maildir string
	smtpAddr      string
	url           string
	cmd           *exec.Cmd
	exited        chan struct{}
}

// newWebSite makes the goqmail directory in dir with the virtual user;
// the caller fills its Maildir and starts it.
func newWebSite(dir string) *webSite {
	w := &webSite{root: filepath.Join(dir, "gq")}
	cmd := exec.Command(filepath.Join(*bin, "goqmail"), "init", w.root)
	// The ports are chosen again at start: minutes pass in between.
	cmd.Env = append(os.Environ(), "GOQMAIL_LISTEN="+freeAddr(), "GOQMAIL_LISTEN_WEB="+freeAddr())
	if out, err := cmd.CombinedOutput(); err != nil {
		webDie("goqmail init: %v\n%s", err, out)
	}
	cmd = exec.Command(filepath.Join(*bin, "goqmail"), "user", "add", webUser, "-root", w.root)
	cmd.Stdin = strings.NewReader(webPass + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		webDie("goqmail user add: %v\n%s", err, out)
	}
	w.maildir = filepath.Join(w.root, "vmail", "virtual.test", "bench", "Maildir")
	return w
}

// freeAddr returns a loopback address nothing listens on now.
func freeAddr() string {
	a, err := testport.FreeAddr()
	webMust(err)
	return a
}

// start hands the Maildir (written by this program) to its owner, the
// owner of the Maildir directory `goqmail user add` made, and starts
// goqmaild on loopback ports free just now.
func (w *webSite) start(logPath string) {
	w.smtpAddr = freeAddr()
	webAddr := freeAddr()
	w.url = "https://" + webAddr
	webMust(os.WriteFile(filepath.Join(w.root, "control", "smtplisten"), []byte(w.smtpAddr+"\n"), 0o644))
	webMust(os.WriteFile(filepath.Join(w.root, "control", "weblisten"), []byte(webAddr+"\n"), 0o644))
	fi, err := os.Stat(w.maildir)
	webMust(err)
	st := fi.Sys().(*syscall.Stat_t)
	if os.Geteuid() == 0 {
		webMust(filepath.WalkDir(w.maildir, func(p string, _ os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, int(st.Uid), int(st.Gid))
		}))
	}
	log, err := os.Create(logPath)
	webMust(err)
	w.cmd = exec.Command(filepath.Join(*bin, "goqmaild"), w.root)
	w.cmd.Stdout, w.cmd.Stderr = log, log
	w.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	webMust(w.cmd.Start())
	exited := make(chan struct{})
	go func() { w.cmd.Wait(); close(exited) }()
	w.exited = exited
	webCleanup(w.stop)
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", webAddr); err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(logPath)
			webDie("goqmaild exited:\n%s", b)
		default:
		}
		if i == 300 {
			b, _ := os.ReadFile(logPath)
			webDie("goqmail-web does not listen on %s; goqmaild's log:\n%s", webAddr, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (w *webSite) stop() {
	if w.cmd != nil {
		w.cmd.Process.Signal(syscall.SIGTERM)
		<-w.exited
		w.cmd = nil
	}
}

// webClient is one browser: its own cookie jar, so one web session.
type webClient struct {
	site *webSite
	c    *http.Client
	csrf string // the session's token, from the last page
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// login opens a new web session, and so a new goqmail-webmbox process.
// Redirects are not followed: the page after the login is what is timed.
func (w *webSite) login() *webClient {
	jar, _ := cookiejar.New(nil)
	c := &webClient{site: w, c: &http.Client{
		Jar:     jar,
		Timeout: 5 * time.Minute,
		// The demo's certificate is self-signed, and this is loopback.
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	page, _ := c.get("/login", http.StatusOK)
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		webDie("webmail: the login page has no CSRF token:\n%s", page)
	}
	resp, err := c.c.PostForm(w.url+"/login", url.Values{"csrf": {m[1]}, "login": {webUser}, "password": {webPass}})
	webMust(err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		webDie("webmail: login: %s\n%s", resp.Status, body)
	}
	return c
}

// get fetches path to its last byte and returns the body, how long that
// took and the CPU time goqmail-web and the mailbox sessions spent
// meanwhile; any status but want ends the bench.
func (c *webClient) get(path string, want int) (string, sample) {
	c0 := c.site.serverCPU()
	t0 := time.Now()
	resp, err := c.c.Get(c.site.url + path)
	webMust(err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := sample{wall: time.Since(t0)}
	d.cpu = c.site.serverCPU() - c0
	webMust(err)
	if resp.StatusCode != want {
		webDie("webmail: GET %s: %s\n%s", path, resp.Status, body)
	}
	if m := csrfField.FindSubmatch(body); m != nil {
		c.csrf = string(m[1])
	}
	return string(body), d
}

// logout ends the web session (its goqmail-webmbox exits), so that the
// rounds of new logins stay within the front's sessions per user.
func (c *webClient) logout() {
	resp, err := c.c.PostForm(c.site.url+"/logout", url.Values{"csrf": {c.csrf}})
	webMust(err)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		webDie("webmail: logout: %s", resp.Status)
	}
}

// msgRow finds a message row of the list: its class, its link.
var msgRow = regexp.MustCompile(`(?s)<tr class="([^"]*)">\s*<td>.*?href="(/msg\?[^"]+)"`)

// runWebFront measures the pages; the Maildir holds n messages and may
// hold an index written by the in-process part (it is removed: the first
// visit is cold).
func runWebFront(w *webSite, n int) {
	logPath := filepath.Join(filepath.Dir(w.root), "goqmaild.log")
	index := filepath.Join(w.maildir, mailstore.IndexFile)
	webMust(ignoreMissing(os.Remove(index)))
	w.start(logPath)
	defer w.stop()
	fmt.Printf("\nend to end: goqmail-web over HTTPS, a goqmail-webmbox per login\n\n")
	fmt.Printf("| GET (%d messages), request to last byte | runs | median ms | p95 ms | server CPU ms, mean |\n|---|---|---|---|---|\n", n)

	// First visits with no index: the session parses every header.
	var cold []sample
	var page string
	for i := 0; i < 3; i++ {
		webMust(ignoreMissing(os.Remove(index)))
		c := w.login()
		var d sample
		page, d = c.get("/mail", http.StatusOK)
		cold = append(cold, d)
		// The session writes the index in the background; a logout
		// before it is done would lose it.
		waitFile(index)
		c.logout()
	}
	webRow("/mail, first visit, no index (cold)", cold)

	newLogin := make([]sample, 0, *webRounds)
	for i := 0; i < *webRounds; i++ {
		c := w.login()
		_, d := c.get("/mail", http.StatusOK)
		newLogin = append(newLogin, d)
		c.logout()
	}
	webRow("/mail, first visit of a new login (index on disk)", newLogin)

	c := w.login()
	defer c.logout()
	c.get("/mail", http.StatusOK)
	same := make([]sample, 0, *webRounds)
	for i := 0; i < *webRounds; i++ {
		var d sample
		page, d = c.get("/mail", http.StatusOK)
		same = append(same, d)
	}
	webRow("/mail again, same session", same)
	next := make([]sample, 0, *webRounds)
	for i := 0; i < *webRounds; i++ {
		_, d := c.get(fmt.Sprintf("/mail?page=%d", i+2), http.StatusOK)
		next = append(next, d)
	}
	webRow("/mail?page=2.., same session", next)

	delivered := make([]sample, 0, *webRounds)
	for i := 0; i < *webRounds; i++ {
		w.deliver(i)
		_, d := c.get("/mail", http.StatusOK)
		delivered = append(delivered, d)
	}
	webRow("/mail after one delivery by SMTP, same session", delivered)

	// Open messages of the first page: one already read (the page is the
	// message op and the folders), one unread (reading sets its Seen
	// flag, a rename from new/ to cur/ as a browser's reading does, so
	// the folders' count reads the names again).
	var read, unread []string
	for _, m := range msgRow.FindAllStringSubmatch(page, -1) {
		if strings.Contains(m[1], "unread") {
			unread = append(unread, html.UnescapeString(m[2]))
		} else {
			read = append(read, html.UnescapeString(m[2]))
		}
	}
	if len(read) == 0 || len(unread) == 0 {
		webDie("webmail: the first page has no read or no unread message:\n%s", page)
	}
	var msgBytes int
	openRead := make([]sample, 0, *webRounds)
	for i := 0; i < *webRounds; i++ {
		body, d := c.get(read[i%len(read)], http.StatusOK)
		openRead = append(openRead, d)
		msgBytes = len(body)
	}
	webRow("/msg, a read message of the first page, same session", openRead)
	openUnread := make([]sample, 0, len(unread))
	for _, l := range unread {
		_, d := c.get(l, http.StatusOK)
		openUnread = append(openUnread, d)
	}
	webRow("/msg, an unread message of the first page (marks it seen), same session", openUnread)
	links := append(read, unread...)

	css, _ := c.get("/static/style.css", http.StatusOK)
	fmt.Printf("\npage weight: /mail %d bytes (%d rows), /msg %d bytes, /static/style.css %d bytes (cached by the browser); no script, no image\n",
		len(page), len(links), msgBytes, len(css))
}

// deliver sends message i by SMTP to the web user and waits until it is
// in new/ (bounded).
func (w *webSite) deliver(i int) {
	subject := fmt.Sprintf("late arrival %d %d", i, time.Now().UnixNano())
	msg := fmt.Sprintf("From: Late <late%d@example.org>\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\n\r\nJust in.\r\n",
		i, webUser, subject, time.Now().Format(time.RFC1123Z))
	before := countNew(w.maildir)
	// Plain SMTP on loopback (SendMail would insist on the demo's
	// self-signed certificate for STARTTLS).
	sc, err := smtp.Dial(w.smtpAddr)
	webMust(err)
	webMust(sc.Hello("bench.example.org"))
	webMust(sc.Mail(fmt.Sprintf("late%d@example.org", i)))
	webMust(sc.Rcpt(webUser))
	wc, err := sc.Data()
	webMust(err)
	_, err = io.WriteString(wc, msg)
	webMust(err)
	webMust(wc.Close())
	webMust(sc.Quit())
	for j := 0; countNew(w.maildir) <= before; j++ {
		if j == 600 {
			webDie("webmail: the message sent by SMTP was not delivered in 60 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func countNew(maildir string) int {
	d, err := os.Open(filepath.Join(maildir, "new"))
	webMust(err)
	defer d.Close()
	names, err := d.Readdirnames(-1)
	webMust(err)
	return len(names)
}

// waitFile waits (bounded) until path exists.
func waitFile(path string) {
	for i := 0; i < 1200; i++ {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	webDie("webmail: %s was not written in 60 s", path)
}

func ignoreMissing(err error) error {
	if os.IsNotExist(err) {
		return nil
	}
	return err
}

// serverCPU is the CPU time (user and system) used so far by this site's
// goqmail-web and mailbox sessions (goqmail-webmbox for its Maildir),
// from /proc in clock ticks of 10 ms (USER_HZ, 100 on Linux): a mean
// over the runs, not one request's figure.
func (w *webSite) serverCPU() time.Duration {
	ents, err := os.ReadDir("/proc")
	webMust(err)
	var ticks int64
	for _, e := range ents {
		pid := e.Name()
		if pid[0] < '0' || pid[0] > '9' {
			continue
		}
		cmd, err := os.ReadFile("/proc/" + pid + "/cmdline")
		if err != nil {
			continue // gone
		}
		args := strings.Split(string(cmd), "\x00")
		if len(args) < 2 {
			continue
		}
		prog := filepath.Base(args[0])
		if !(prog == "goqmail-web" && slices.Contains(args, w.root)) &&
			!(prog == "goqmail-webmbox" && slices.Contains(args, w.maildir)) {
			continue
		}
		stat, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil {
			continue
		}
		// After the command name in parentheses: state is field 3,
		// utime and stime fields 14 and 15.
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + s
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}
