package admin

import (
	"bytes"
	"goqmail/internal/pidlock"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"goqmail/internal/vdir"
)

// vroot makes a server directory with a control dir and opens its
// virtual directory as the current user.
func vroot(t *testing.T) (string, *vdir.Files) {
	t.Helper()
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "control"), 0o755); err != nil {
		t.Fatal(err)
	}
	return root, vdir.OpenFiles(filepath.Join(root, "vdir"), filepath.Join(root, "vmail"), os.Getuid(), os.Getgid())
}

type vcase struct {
	cmd     string // domain, user, alias
	args    string // split on spaces; "" items via '' are not needed
	stdin   string
	code    int    // ExitCode of the error
	out     string // fragment of stdout (success) or of the error
	changed bool
}

func runV(d vdir.Directory, c vcase) (bool, string, error) {
	var out bytes.Buffer
	args := strings.Fields(c.args)
	var changed bool
	var err error
	open := func() (vdir.Directory, error) { return d, nil }
	switch c.cmd {
	case "domain":
		changed, err = DomainCmd(open, args, &out)
	case "user":
		changed, err = UserCmd(open, args, PipePassword(strings.NewReader(c.stdin)), &out)
	case "alias":
		changed, err = AliasCmd(open, args, &out)
	}
	return changed, out.String(), err
}

func TestVirtualCommands(t *testing.T) {
	root, d := vroot(t)
	for _, c := range []vcase{
		// domain
		{"domain", "", "", 100, "which command?", false},
		{"domain", "frob x.org", "", 100, `unknown command "frob"`, false},
		{"domain", "add", "", 100, "domain add takes one domain name, got 0 arguments", false},
		{"domain", "add bad_name.org", "", 100, `character '_' not allowed`, false},
		{"domain", "add example.com --bogus 1", "", 100, "unknown option --bogus", false},
		{"domain", "add example.com --quota", "", 100, "--quota needs a value", false},
		{"domain", "add example.com --quota 12X", "", 100, `--quota "12X" is not a size`, false},
		{"domain", "add example.com --catchall deliver", "", 100, "want bounce, reject, mailbox:USER or forward:ADDRESS", false},
		{"domain", "add example.com --catchall mailbox:bob", "", 100, "example.com has no user bob (add the user first, then set the catch-all)", false},
		{"domain", "add Example.COM --quota 1M", "", 0, "added domain example.com catchall=bounce quota=1048576", true},
		{"domain", "add example.com", "", 100, "domain example.com already exists", false},
		{"domain", "add example.net --alias-of example.com", "", 0, "added domain example.net aliasof=example.com", true},
		{"domain", "add example.org --alias-of nosuch.org", "", 100, "there is no domain nosuch.org to be an alias of", false},
		{"domain", "set example.com", "", 100, "nothing to change", false},
		{"domain", "set nosuch.org --quota 1", "", 100, "no virtual domain nosuch.org", false},
		{"domain", "list extra", "", 100, "domain list takes no arguments", false},
		{"domain", "list", "", 0, "example.com catchall=bounce quota=1048576\nexample.net aliasof=example.com\n", false},
		// user
		{"user", "add bob@example.com", "", 100, "no password on standard input", false},
		{"user", "add bob@example.com --password secret", "", 100, "never taken from the command line", false},
		{"user", "add bob", "pw\n", 100, `address "bob" has no '@'`, false},
		{"user", "add bob@nosuch.org", "pw\n", 100, "no virtual domain nosuch.org", false},
		{"user", "add bob@example.net", "pw\n", 100, "example.net is an alias domain of example.com", false},
		{"user", "add bob@example.com --quota-messages -1", "pw\n", 100, `--quota-messages "-1" is not a number`, false},
		{"user", "add bob@example.com --password-stdin --quota-messages 50", "s3cret\nignored\n", 0, "added user bob@example.com quota=1048576 messages=50 password=BLF-CRYPT", true},
		{"user", "add bob@example.com", "pw\n", 100, "user bob@example.com already exists", false},
		{"user", "add alice@example.com --quota 0", "alicepw", 0, "added user alice@example.com quota=1048576", true},
		{"user", "set alice@example.com --quota 0", "", 0, "changed user alice@example.com quota=0 messages=0", true},
		{"user", "set alice@example.com", "", 100, "nothing to change", false},
		{"user", "set nobody@example.com --quota 5", "", 100, "no user nobody@example.com", false},
		{"user", "set alice@example.com --password-stdin", "", 100, "user set does not take --password-stdin", false},
		{"user", "passwd bob@example.com", "n3w\r\n", 0, "changed the password of bob@example.com", true},
		{"user", "passwd nobody@example.com", "x\n", 100, "no user nobody@example.com", false},
		{"user", "list example.com", "", 0, "alice@example.com quota=0 messages=0 password=BLF-CRYPT\nbob@example.com quota=1048576 messages=50 password=BLF-CRYPT\n", false},
		{"user", "list nosuch.org", "", 100, "no virtual domain nosuch.org", false},
		{"user", "show BOB@example.com", "", 0, "user bob@example.com\nquota: 1048576 bytes, 50 messages (0 = unlimited)\npassword scheme: BLF-CRYPT\nmailbox: " + filepath.Join(root, "vmail", "example.com", "bob") + "/Maildir/\n", false},
		{"user", "show nobody@example.com", "", 100, "no user nobody@example.com", false},
		// alias
		{"alias", "add info@example.com", "", 100, "alias add takes an address and at least one target", false},
		{"alias", "add bob@example.com x@y.org", "", 100, "bob@example.com is a user", false},
		{"alias", "add info@example.com bob x@y..org", "", 100, `target "x@y..org" is not a valid address`, false},
		{"alias", "add info@example.com bob,alice Boss@Elsewhere.ORG", "", 0, "set alias info@example.com: bob@example.com, alice@example.com, Boss@elsewhere.org", true},
		{"alias", "add info@example.com bob", "", 0, "set alias info@example.com: bob@example.com\n", true},
		{"alias", "list example.com", "", 0, "info@example.com: bob@example.com\n", false},
		{"alias", "list example.net", "", 100, "example.net is an alias domain of example.com", false},
		{"alias", "del nobody@example.com", "", 100, "no alias nobody@example.com", false},
		{"alias", "del info@example.com extra", "", 100, "alias del takes one address, got 2 arguments", false},
		// settings that refer to users and aliases
		{"domain", "set example.com --catchall mailbox:bob --postmaster info", "", 0, "changed domain example.com postmaster=info catchall=mailbox:bob quota=1048576", true},
		{"domain", "show example.com", "", 0, "domain example.com\npostmaster: info\ncatchall: mailbox:bob\nquota for new users: 1048576 bytes\nalias domains: example.net\nusers: 2\n  alice@example.com quota=0 messages=0 password=BLF-CRYPT\n  bob@example.com quota=1048576 messages=50 password=BLF-CRYPT\naliases: 1\n  info@example.com: bob@example.com\n", false},
		{"domain", "show example.net", "", 0, "an alias domain of example.com", false},
		{"user", "del bob@example.com", "", 100, "user bob@example.com is the catch-all mailbox of example.com: change the catch-all first", false},
		{"alias", "del info@example.com", "", 100, "alias info@example.com is the postmaster of example.com: change the postmaster first", false},
		{"domain", "set example.com --catchall forward:alice,x@y.org --postmaster=", "", 0, "changed domain example.com catchall=forward:alice@example.com,x@y.org quota=1048576", true},
		{"user", "del bob@example.com", "", 0, "deleted user bob@example.com (mailbox kept as vmail/example.com/.deleted-bob-TIME)", true},
		{"alias", "del info@example.com", "", 0, "deleted alias info@example.com", true},
		{"domain", "del example.com", "", 100, "domain example.com is the target of alias domains example.net: delete those first", false},
		{"domain", "del example.net", "", 0, "deleted domain example.net", true},
		{"domain", "del example.com", "", 0, "deleted domain example.com", true},
		{"domain", "list", "", 0, "", false},
	} {
		name := c.cmd + " " + c.args
		changed, out, err := runV(d, c)
		if code := ExitCode(err); code != c.code {
			t.Errorf("%s: exit %d (%v), want %d", name, code, err, c.code)
			continue
		}
		got := out
		if err != nil {
			got = err.Error()
		}
		if !strings.Contains(got, c.out) || (c.out == "" && got != "") {
			t.Errorf("%s: output %q, want it to contain %q", name, got, c.out)
		}
		if changed != c.changed {
			t.Errorf("%s: changed = %v, want %v", name, changed, c.changed)
		}
	}
}

// TestDomainAddLeavesNothingOnFailure: when making the domain's mailbox
// directory fails halfway (ROOT/vmail is a file here), the command fails
// with 111 and no trace of the domain is left.
func TestDomainAddLeavesNothingOnFailure(t *testing.T) {
	root, d := vroot(t)
	if err := os.WriteFile(filepath.Join(root, "vmail"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := runV(d, vcase{cmd: "domain", args: "add example.com"})
	if ExitCode(err) != 111 {
		t.Fatalf("exit %d: %v", ExitCode(err), err)
	}
	ents, _ := os.ReadDir(filepath.Join(root, "vdir"))
	for _, e := range ents {
		if e.Name() != ".lock" {
			t.Errorf("left behind: vdir/%s", e.Name())
		}
	}
	if _, out, _ := runV(d, vcase{cmd: "domain", args: "list"}); out != "" {
		t.Errorf("domain list after failure: %q", out)
	}
}

func TestOpenVirtualRefusesNonInstallation(t *testing.T) {
	_, err := OpenVirtual(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "not a goqmail installation") {
		t.Errorf("OpenVirtual: %v", err)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "123": 123, "2k": 2048, "3M": 3 << 20, "1G": 1 << 30} {
		if got, err := parseSize(in, "q"); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "-1", "1T", "K", "1.5M", "99999999999G"} {
		if _, err := parseSize(in, "q"); err == nil {
			t.Errorf("parseSize(%q) accepted", in)
		}
	}
}

func TestSignalReload(t *testing.T) {
	root := t.TempDir()
	if got := SignalReload(root); got != "running servers pick up changes by themselves" {
		t.Errorf("without a pid file: %q", got)
	}
	// A pid file left by a goqmaild that died names a live process that is
	// not goqmaild (here sleep, which SIGHUP would kill): no signal.
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	defer cmd.Process.Kill()
	os.Mkdir(filepath.Join(root, "run"), 0o755)
	pidFile := filepath.Join(root, "run", "goqmaild.pid")
	os.WriteFile(pidFile, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644)
	if got := SignalReload(root); got != "running servers pick up changes by themselves" {
		t.Errorf("with a stale pid file: %q", got)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		t.Errorf("the process a stale pid file names got a signal: %v", cmd.ProcessState)
	case <-time.After(200 * time.Millisecond):
	}
	// A live goqmaild holds the file's lock: this test process does.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	os.Remove(pidFile)
	lock, err := pidlock.TryAcquire(pidFile, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	if got := SignalReload(root); !strings.Contains(got, "told goqmaild (pid "+strconv.Itoa(os.Getpid())+") to reload") {
		t.Errorf("with a held pid file: %q", got)
	}
	select {
	case <-hup:
	case <-time.After(5 * time.Second):
		t.Error("no SIGHUP arrived")
	}
}
