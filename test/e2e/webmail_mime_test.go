package e2e

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"goqmail/internal/maildir"
	"goqmail/internal/mailstore"
	"goqmail/internal/mimeview"
	"goqmail/internal/webrpc"
)

// webmboxBin returns the goqmail-webmbox program: GOQMAIL_BIN's, or one
// built here while the Makefile's PROGRAMS does not list it yet.
func webmboxBin(t *testing.T) string {
	t.Helper()
	p := filepath.Join(binDir, "goqmail-webmbox")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	dir, err := os.MkdirTemp("", "goqmail-e2e-webmbox-bin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	if out, err := exec.Command("go", "build", "-o", dir+"/", "goqmail/cmd/goqmail-webmbox").CombinedOutput(); err != nil {
		t.Fatalf("building goqmail-webmbox: %v\n%s", err, out)
	}
	return filepath.Join(dir, "goqmail-webmbox")
}

// startWebmbox starts the real mailbox session on maildir as goqmail-auth
// would (fd 3 one end of a socketpair; as root, under the mailbox
// owner's uid) and returns a client on the other end.
func startWebmboxAs(t *testing.T, mdir string, uid, gid int) *webrpc.Client {
	t.Helper()
	return spawnWebmbox(t, webmboxSpec{bin: webmboxBin(t), maildir: mdir, uid: uid, gid: gid, mustExitClean: true,
		env: []string{"GOQMAIL_ROOT=" + t.TempDir(), "GOQMAIL_WEB_LOGIN=bob@example.com",
			"GOQMAIL_WEB_ADDRESS=bob@example.com", "GOQMAIL_WEB_KIND=virtual",
			"GOQMAIL_WEB_OWNS=bob@example.com,postmaster@example.com", "HOME=" + filepath.Dir(mdir)}})
}

// webmboxSpec says how to start one goqmail-webmbox session as goqmail-auth
// would: on one end of a socket pair (fd 3), under the mailbox owner's ids
// when the test runs as root, with the environment auth gives it.
type webmboxSpec struct {
	bin, maildir, dir string
	env               []string
	uid, gid          int
	mustExitClean     bool // the session's exit status is checked when the test ends
}

func spawnWebmbox(t *testing.T, sp webmboxSpec) *webrpc.Client {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "front"), os.NewFile(uintptr(fds[1]), "session")
	cmd := exec.Command(sp.bin, "-session", sp.maildir)
	cmd.ExtraFiles = []*os.File{theirs}
	cmd.Env = sp.env
	cmd.Dir = sp.dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if asRoot {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(sp.uid), Gid: uint32(sp.gid), Groups: []uint32{}}}
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	theirs.Close()
	conn, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		t.Fatal(err)
	}
	c := webrpc.NewClient(conn)
	t.Cleanup(func() {
		c.Close()
		err := cmd.Wait()
		switch {
		case err != nil && sp.mustExitClean:
			t.Errorf("goqmail-webmbox after the front closed: %v\n%s", err, stderr.String())
		case t.Failed():
			t.Logf("goqmail-webmbox stderr:\n%s", stderr.String())
		}
	})
	return c
}

// The real goqmail-webmbox, under the mailbox owner's uid, shows every
// message of the hostile corpus through the socket the front will use:
// message (sanitized, CSP'd, Seen set on disk), part, raw byte for byte,
// compose reply.
func TestWebmboxShowsHostileCorpus(t *testing.T) {
	base, err := os.MkdirTemp("", "goqmail-e2e-webmbox-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	os.Chmod(base, 0o755)
	mdir := filepath.Join(base, "Maildir")
	if err := maildir.Make(mdir, 0o700); err != nil {
		t.Fatal(err)
	}
	st, err := mailstore.Open(mdir)
	if err != nil {
		t.Fatal(err)
	}
	files, err := mimeview.CorpusFiles()
	if err != nil || len(files) < 30 {
		t.Fatalf("hostile corpus: %d files, %v", len(files), err)
	}
	ids := map[string]string{}
	raws := map[string][]byte{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		id, err := st.Append(mailstore.Inbox, raw, "")
		if err != nil {
			t.Fatal(err)
		}
		ids[f], raws[f] = id, raw
	}
	uid, gid := os.Getuid(), os.Getgid()
	if asRoot {
		uid, gid = lookupIDs(t, "goqmaildemo")
		filepath.Walk(base, func(p string, _ os.FileInfo, _ error) error { return os.Lchown(p, uid, gid) })
	}
	c := startWebmboxAs(t, mdir, uid, gid)
	ctx := context.Background()
	callOK := func(op string, args ...string) *webrpc.Response {
		t.Helper()
		resp, err := c.Call(ctx, &webrpc.Request{Op: op, Args: args})
		if err != nil {
			t.Fatalf("%s %v: %v", op, args, err)
		}
		if resp.Status != webrpc.OK {
			t.Fatalf("%s %v: %v %s", op, args, resp.Status, resp.Text)
		}
		return resp
	}
	for _, f := range files {
		name, id := filepath.Base(f), ids[f]
		resp := callOK(webmboxOpMessage, mailstore.Inbox, id, "0")
		for _, row := range resp.Rows {
			switch row[0] {
			case "html":
				doc := strings.ToLower(row[1])
				if !strings.Contains(doc, `http-equiv="content-security-policy" content="default-src 'none'`) {
					t.Errorf("%s: document without its CSP", name)
				}
				for _, bad := range []string{"<script", "<svg", "<iframe", "<form", "<style", " onerror", " onload", "javascript:", "evil.example/"} {
					if strings.Contains(doc, bad) {
						t.Errorf("%s: shown document holds %q", name, bad)
					}
				}
			case "flags":
				if row[1] != "S" {
					t.Errorf("%s: flags %q after reading", name, row[1])
				}
			}
		}
		p, err := st.Path(mailstore.Inbox, id)
		if err != nil || mailstore.Flags(p) != "S" {
			t.Errorf("%s: on disk %s %v, want seen", name, p, err)
		}
		if raw := callOK("raw", mailstore.Inbox, id); string(raw.Blob) != string(raws[f]) {
			t.Errorf("%s: raw differs from the file", name)
		}
		callOK("compose", "reply", mailstore.Inbox, id)
	}
	// A part by id, decoded.
	id := ids[filepath.Join(mimeview.CorpusDir(), "19-cid-images.eml")]
	resp := callOK("part", mailstore.Inbox, id, "2")
	if !strings.HasPrefix(string(resp.Blob), "\x89PNG") || resp.Rows[0][1] != "image/png" {
		t.Errorf("part 2: %q %v", resp.Blob, resp.Rows)
	}
}

// webmboxOpMessage is webmbox.OpMessage (not imported: the e2e tests
// speak to the program, not the package).
const webmboxOpMessage = "message"
