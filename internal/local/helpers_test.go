package local

import (
	"goqmail/internal/submit/submittest"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"goqmail/internal/logline"
	"goqmail/internal/maildir"
	"goqmail/internal/proto"
)

var testNow = time.Date(2024, time.March, 5, 9, 7, 3, 0, time.UTC)

const testMsg = "Received: from x\nSubject: hi\n\nbody line\nFrom here\n"

// env is one test recipient: a home directory with a Maildir, a worker,
// and the request the spawner would send for user "u" at example.test.
type env struct {
	t    *testing.T
	home string
	w    *Worker
	req  proto.Local
}

func newEnv(t *testing.T) *env {
	t.Helper()
	home := filepath.Join(t.TempDir(), "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := maildir.Make(filepath.Join(home, "Maildir"), 0o700); err != nil {
		t.Fatal(err)
	}
	w := &Worker{Log: logline.NewTo(io.Discard, "local"), now: func() time.Time { return testNow }}
	req := proto.Local{Seq: 1, User: "u", Home: home, Local: "u", Domain: "example.test",
		Sender: "s@example.org", DefaultDelivery: "./Maildir/\n"}
	return &env{t: t, home: home, w: w, req: req}
}

// ext makes the request one for u-<ext>, as the spawner sends it.
func (e *env) ext(ext string) *env {
	e.req.Local, e.req.Dash, e.req.Ext = "u-"+ext, "-", ext
	return e
}

func (e *env) write(name, data string, mode os.FileMode) {
	e.t.Helper()
	p := filepath.Join(e.home, name)
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		e.t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) read(name string) string {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.home, name))
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

func (e *env) exists(name string) bool {
	_, err := os.Stat(filepath.Join(e.home, name))
	return err == nil
}

// deliver hands body to the worker over a pipe announcing len(body).
func (e *env) deliver(body string) (byte, string) {
	return e.deliverSized(body, int64(len(body)))
}

func (e *env) deliverSized(body string, size int64) (byte, string) {
	e.t.Helper()
	req := e.req
	req.Size = size
	pr, pw, err := os.Pipe()
	if err != nil {
		e.t.Fatal(err)
	}
	go func() { pw.Write([]byte(body)); pw.Close() }()
	defer pr.Close()
	return e.w.deliver(req, pr)
}

// maildirFiles returns the contents of the messages in a maildir's new/
// and fails if tmp/ holds anything.
func (e *env) maildirFiles(dir string) []string {
	e.t.Helper()
	if ents, _ := os.ReadDir(filepath.Join(e.home, dir, "tmp")); len(ents) != 0 {
		e.t.Fatalf("%d files left in %s/tmp", len(ents), dir)
	}
	ents, err := os.ReadDir(filepath.Join(e.home, dir, "new"))
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, ent := range ents {
		b, _ := os.ReadFile(filepath.Join(e.home, dir, "new", ent.Name()))
		out = append(out, string(b))
	}
	return out
}

func expect(t *testing.T, res byte, text string, wantRes byte, wantText string) {
	t.Helper()
	if res != wantRes || !strings.Contains(text, wantText) {
		t.Fatalf("report %c %q, want %c containing %q", res, text, wantRes, wantText)
	}
}

// submission is what the fake queue received and accepted.
type submission struct {
	sender string
	rcpts  []string
	data   string
}

// fakeQueue is a submit socket (internal/submit/submittest) answering
// every commit with one result.
type fakeQueue struct {
	q    *submittest.Queue
	path string
}

func newFakeQueue(t *testing.T, result proto.Result) *fakeQueue {
	t.Helper()
	q := submittest.Start(t, filepath.Join(t.TempDir(), "submit.sock"), result)
	return &fakeQueue{q: q, path: q.Path}
}

func (f *fakeQueue) submissions() []submission {
	var out []submission
	for _, s := range f.q.Submissions() {
		if s.Committed {
			out = append(out, submission{sender: s.Sender, rcpts: s.Rcpts, data: s.Content})
		}
	}
	return out
}
