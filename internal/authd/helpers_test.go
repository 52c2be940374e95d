package authd

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"goqmail/internal/assign"
	"goqmail/internal/authclient"
	"goqmail/internal/logline"
	"goqmail/internal/relaygrant"
	"goqmail/internal/vdir"
)

// fixture is a running auth server over a temp virtual directory, a fake
// shadow helper and a fake passwd, with a recorded sleep and a movable clock.
type fixture struct {
	t      *testing.T
	root   string
	srv    *Server
	client *authclient.Client
	grants *relaygrant.Store
	log    *syncBuffer

	mu     sync.Mutex
	sleeps []time.Duration
	now    time.Time
}

type syncBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	return len(p), nil
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b)
}

// Fake system accounts: sys (uid sysUID, password "sys secret" in the fake
// shadow), daemon (uid 2, same password: too low to log in), yes (a
// yescrypt hash: unsupported).
var fakePasswd = map[string]assign.PasswdEntry{
	"sys":    {Name: "sys", UID: sysUID, GID: sysUID, Home: "/home/sys"},
	"daemon": {Name: "daemon", UID: 2, GID: 2, Home: "/"},
	"yes":    {Name: "yes", UID: 1002, GID: 1002, Home: "/home/yes"},
}

// sysUID is sys's uid: 1001, or 1003 when the tests run as uid 1001 (the
// second account on a Debian machine). Without root, a mailbox of our own
// uid may be opened and any other may not; the tests need sys to be other.
var sysUID = func() int {
	if os.Getuid() == 1001 {
		return 1003
	}
	return 1001
}()

var fakeShadow = []byte("sys:" + dummyCrypt + ":19000:0:99999:7:::\n" +
	"daemon:" + dummyCrypt + ":19000:0:99999:7:::\n" +
	"yes:$y$j9T$abc$def:19000:0:99999:7:::\n")

func newFixture(t *testing.T, cfg func(*Config)) *fixture {
	t.Helper()
	root := t.TempDir()
	f := &fixture{t: t, root: root, log: &syncBuffer{}, now: time.Unix(1_700_000_000, 0)}
	must(t, os.CopyFS(root, os.DirFS(templateDir(t))))
	dir := vdir.OpenFiles(filepath.Join(root, "vdir"), filepath.Join(root, "vmail"), os.Getuid(), os.Getgid())
	f.grants = relaygrant.Open(filepath.Join(root, "relay", "grants"))
	c := Config{
		Dir: dir, VirtualUID: os.Getuid(), VirtualGID: os.Getgid(),
		Shadow: func(_ context.Context, user, password string) (ShadowAnswer, error) {
			a, _ := CheckShadow(fakeShadow, user, password, 20000)
			return a, nil
		},
		LookupUser: func(name string) (assign.PasswdEntry, bool, error) {
			e, ok := fakePasswd[name]
			return e, ok, nil
		},
		Grants:  f.grants,
		Clients: []int{os.Getuid()},
		Log:     logline.NewTo(f.log, "auth"),
		Sleep: func(d time.Duration) {
			f.mu.Lock()
			f.sleeps = append(f.sleeps, d)
			f.mu.Unlock()
		},
		Now: func() time.Time {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.now
		},
	}
	if cfg != nil {
		cfg(&c)
	}
	f.srv = New(c, Settings{Locals: []string{"example.test"}})
	sock := filepath.Join(root, "auth.sock")
	ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: sock, Net: "unixpacket"})
	must(t, err)
	t.Cleanup(func() { ln.Close() })
	go f.srv.Serve(ln)
	f.client = authclient.Dial(sock)
	return f
}

func (f *fixture) verify(login, password, ip string) authclient.Result {
	f.t.Helper()
	r, err := f.client.Verify(context.Background(), "smtp", login, password, ip)
	if err != nil {
		f.t.Fatalf("Verify(%s): %v", login, err)
	}
	return r
}

// verifyPOP3 checks a password as pop3d's USER/PASS does.
func (f *fixture) verifyPOP3(login, password, ip string) authclient.Result {
	f.t.Helper()
	r, err := f.client.Verify(context.Background(), "pop3", login, password, ip)
	if err != nil {
		f.t.Fatalf("Verify(%s): %v", login, err)
	}
	return r
}

func (f *fixture) takeSleeps() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.sleeps
	f.sleeps = nil
	return s
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

// templateDir builds the virtual directory once per test binary (its
// writes fsync, which is slow on a busy machine); each fixture copies it.
// bob has a {PLAIN} password (APOP), alice a SHA-512 crypt one; info
// forwards to bob only, team to both; example.net is an alias domain.
var templateDirOnce = sync.OnceValue(func() string {
	root, err := os.MkdirTemp("", "authd-template")
	if err != nil {
		panic(err)
	}
	dir := vdir.OpenFiles(filepath.Join(root, "vdir"), filepath.Join(root, "vmail"), os.Getuid(), os.Getgid())
	for _, err := range []error{
		dir.AddDomain(vdir.Domain{Name: "example.com"}),
		dir.AddUserHash(vdir.User{Local: "bob", Domain: "example.com", Hash: "{PLAIN}bobpw"}),
		dir.AddUserHash(vdir.User{Local: "alice", Domain: "example.com", Hash: "{SHA512-CRYPT}" + dummyCrypt}),
		dir.SetAlias(vdir.Alias{Local: "info", Domain: "example.com", Targets: []string{"bob@example.com"}}),
		dir.SetAlias(vdir.Alias{Local: "team", Domain: "example.com", Targets: []string{"bob@example.com", "alice@example.com"}}),
		dir.AddDomain(vdir.Domain{Name: "example.net", AliasOf: "example.com"}),
	} {
		if err != nil {
			panic(err)
		}
	}
	return root
})

func templateDir(t *testing.T) string { t.Helper(); return templateDirOnce() }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
