package e2e

import (
	"fmt"
	"goqmail/internal/supervise"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
)

// programs are the binaries every test needs.
var programs = supervise.Programs

// binDir holds the programs under test.
var binDir string

// asRoot: the tests run as root, so goqmail splits itself over its accounts.
var asRoot = os.Geteuid() == 0

// needRoot skips a test that cannot run without root, saying why. Every
// other test runs as any user: goqmail then runs as that one user
// (README, "Tests without root").
func needRoot(t *testing.T, why string) {
	t.Helper()
	if !asRoot {
		t.Skip("needs root: " + why)
	}
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, cleanup, err := programsDir()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer cleanup()
	binDir = dir
	if asRoot {
		// goqmail init creates the system accounts with useradd; do it once
		// here so parallel tests do not race for /etc/passwd's lock.
		if err := makeAccounts(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 1
		}
	}
	return m.Run()
}

// programsDir returns GOQMAIL_BIN, or builds the programs into a temporary
// directory that the goqmail accounts can reach.
func programsDir() (string, func(), error) {
	if dir := os.Getenv("GOQMAIL_BIN"); dir != "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return "", nil, err
		}
		for _, p := range programs {
			if _, err := os.Stat(filepath.Join(abs, p)); err != nil {
				return "", nil, fmt.Errorf("GOQMAIL_BIN=%s lacks %s (run `make build`): %w", dir, p, err)
			}
		}
		return abs, func() {}, nil
	}
	tmp, err := os.MkdirTemp("", "goqmail-e2e-bin-")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { os.RemoveAll(tmp) }
	// The unprivileged accounts exec these programs: they must get through.
	if err := os.Chmod(tmp, 0o755); err != nil {
		cleanup()
		return "", nil, err
	}
	cmd := exec.Command("go", "build", "-o", tmp+"/", "goqmail/cmd/...")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("GOQMAIL_BIN is unset and `go build goqmail/cmd/...` failed: %w", err)
	}
	return tmp, cleanup, nil
}

// makeAccounts runs one root `goqmail init` in a scratch directory, which
// creates goqmaild, goqmailq, goqmails, goqmailr and goqmaildemo.
func makeAccounts() error {
	tmp, err := os.MkdirTemp("", "goqmail-e2e-accounts-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	out, err := exec.Command(filepath.Join(binDir, "goqmail"), "init", filepath.Join(tmp, "root")).CombinedOutput()
	if err != nil {
		return fmt.Errorf("goqmail init (to create the accounts): %w\n%s", err, out)
	}
	return nil
}

// lookupIDs returns an account's uid and gid.
func lookupIDs(t *testing.T, name string) (uid, gid int) {
	t.Helper()
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatalf("account %s: %v", name, err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		t.Fatalf("account %s: bad ids %q %q", name, u.Uid, u.Gid)
	}
	return uid, gid
}

// tools maps each client program to the Debian package that ships it.
var tools = map[string]string{
	"swaks":    "swaks",
	"rspamd":   "rspamd",
	"msmtp":    "msmtp",
	"mlist":    "mblaze",
	"mshow":    "mblaze",
	"mhdr":     "mblaze",
	"chromium": "chromium",
}

// requireTool fails the test when a client is missing: a missing client
// means the machine was not set up, which must not pass as green.
func requireTool(t *testing.T, names ...string) {
	t.Helper()
	for _, name := range names {
		if _, err := exec.LookPath(name); err != nil {
			t.Fatalf("%s not found (%v): install the Debian package %s (apt-get install %s); .ci/run must install it before the tests", name, err, tools[name], tools[name])
		}
	}
}
