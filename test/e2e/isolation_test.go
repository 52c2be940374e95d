package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// asAccount runs a command as a goqmail account, as a local user would run
// it, and returns its combined output and error.
func asAccount(t *testing.T, account string, name string, args ...string) (string, error) {
	t.Helper()
	uid, gid := lookupIDs(t, account)
	cmd := exec.Command(name, args...)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{uint32(gid)}}}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// popLogin logs in over POP3 with STLS (Python's poplib) and quits.
func popLogin(t *testing.T, port int, user, password string) {
	t.Helper()
	script := fmt.Sprintf(`
import poplib, ssl
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
p = poplib.POP3("127.0.0.1", %d, timeout=20); p.stls(context=ctx)
p.user(%q); p.pass_(%q); p.quit()
`, port, user, password)
	if out, err := exec.Command("/usr/bin/python3", "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("poplib: %v\n%s", err, out)
	}
}

// TestRelayGrantsReadableBySMTPDOnly: relay/grants says which addresses
// relay and who logged in from where. It belongs to smtpd's account, mode
// 0400, so smtpd reads it and no local user does (issue 11, item 6: it was
// 0644); an admin's revoke keeps it that way.
func TestRelayGrantsReadableBySMTPDOnly(t *testing.T) {
	needRoot(t, "the server's accounts and the file owners they check exist only as root")
	pop := freePort(t)
	s := NewServer(t, Options{Control: map[string]string{"pop3listen": fmt.Sprintf("127.0.0.1:%d\n", pop)}})
	goqmailCmd(t, s, "", false, "domain", "add", "virt.example")
	goqmailCmd(t, s, "grant secret\n", false, "user", "add", "gail@virt.example")
	popLogin(t, pop, "gail@virt.example", "grant secret")

	grants := filepath.Join(s.Root, "relay", "grants")
	smtpdUID, _ := lookupIDs(t, "goqmaild")
	check := func(when string) {
		t.Helper()
		fi, err := os.Stat(grants)
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if fi.Mode().Perm() != 0o400 || fileOwner(t, grants) != smtpdUID {
			t.Errorf("%s: relay/grants has mode %v and owner uid %d, want 0400 and smtpd's uid %d",
				when, fi.Mode().Perm(), fileOwner(t, grants), smtpdUID)
		}
		out, err := asAccount(t, "goqmaildemo", "cat", grants)
		var exit *exec.ExitError
		if !errors.As(err, &exit) || !strings.Contains(out, "Permission denied") {
			t.Errorf("%s: a local user read relay/grants (err %v):\n%s", when, err, out)
		}
	}
	check("after a POP3 login")
	// smtpd can still read it: the grant lets this address relay.
	if out := swaks(t, s, "--from", "gail@virt.example", "--to", "far@remote.example").Out; !acceptedAfterData.MatchString(out) {
		t.Errorf("relay refused after a POP3 login (smtpd cannot read its grants?):\n%s", out)
	}
	goqmailCmd(t, s, "", false, "relay", "revoke", "127.0.0.1")
	check("after goqmail relay revoke")
}

// waitProgramPid waits for a .qmail program to write its pid (as $$ before
// it execs) into name in the demo home and returns it.
func waitProgramPid(t *testing.T, s *Server, name string) int {
	t.Helper()
	b := waitFile(t, filepath.Join(demoHome(s), name))
	var pid int
	if _, err := fmt.Sscan(string(b), &pid); err != nil || pid <= 1 {
		t.Fatalf("%s holds %q, not a pid", name, b)
	}
	return pid
}

// openFDs lists the descriptors a process has open, as "N -> target".
func openFDs(t *testing.T, pid int) map[int]string {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	fds := map[int]string{}
	for _, e := range ents {
		var n int
		fmt.Sscan(e.Name(), &n)
		target, _ := os.Readlink(filepath.Join(dir, e.Name()))
		fds[n] = target
	}
	return fds
}

// TestProgramGetsOnlyStdio: a .qmail program gets descriptors 0, 1 and 2
// and nothing else: not the spawner's socket, not another delivery's
// message, not whatever goqmaild itself inherited from the shell or init
// that started it (issue 11, item 6). goqmaild is started here with three
// extra descriptors open and not close-on-exec, as a careless init script
// would leave them.
func TestProgramGetsOnlyStdio(t *testing.T) {
	s := NewServer(t, Options{NoStart: true})
	var extra []*os.File
	for i := 0; i < 3; i++ {
		f, err := os.Open("/dev/null")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		extra = append(extra, f)
	}
	s.extraFiles = extra
	s.Start()
	writeUserFile(t, s, demoHome(s), ".qmail-fds", "|echo $$ > fds.tmp && mv fds.tmp fds.pid && exec sleep 600\n")
	if r := swaks(t, s, "--to", "demo-fds@example.test"); r.Code != 0 {
		t.Fatalf("swaks: exit %d\n%s", r.Code, r.Out)
	}
	pid := waitProgramPid(t, s, "fds.pid")
	defer syscall.Kill(pid, syscall.SIGKILL)
	// The shell is exec'ing sleep: while the dynamic loader maps libc it
	// holds it open as descriptor 3 for an instant. A leaked descriptor
	// stays; wait out the loader before judging.
	var fds map[int]string
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		fds = openFDs(t, pid)
		extra := false
		for n := range fds {
			extra = extra || n > 2
		}
		if !extra || time.Now().After(deadline) {
			break
		}
	}
	for n, target := range fds {
		if n > 2 {
			t.Errorf("the .qmail program has descriptor %d open (%s); it may have only 0, 1 and 2: %v", n, target, fds)
		}
	}
	for n := 0; n <= 2; n++ {
		if _, ok := fds[n]; !ok {
			t.Errorf("the .qmail program lacks descriptor %d: %v", n, fds)
		}
	}
}

// probeParent is a .qmail program's attempt on its delivery process
// (argv[1], the shell's $PPID): read its memory and environment, attach
// with ptrace. It prints one line per attempt.
const probeParent = `import ctypes, os, sys
ppid = int(sys.argv[1])
print("comm", open("/proc/%d/comm" % ppid).read().strip())
for name in ("mem", "environ"):
    try:
        open("/proc/%d/%s" % (ppid, name), "rb").close()
        print(name, "OPENED")
    except PermissionError:
        print(name, "denied")
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.restype = ctypes.c_long
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
if libc.ptrace(16, ppid, None, None) == 0:  # PTRACE_ATTACH
    os.waitpid(ppid, 0x40000000)  # __WALL
    libc.ptrace(17, ppid, None, None)  # PTRACE_DETACH
    print("ptrace ATTACHED")
else:
    print("ptrace denied", os.strerror(ctypes.get_errno()))
`

// TestDeliveryProcessNotTraceable: goqmail-local runs as the recipient and
// so does the recipient's .qmail program; without PR_SET_DUMPABLE 0 the
// program could ptrace its delivery process or read its memory and see
// the other deliveries it makes (issue 11, item 6).
func TestDeliveryProcessNotTraceable(t *testing.T) {
	s := NewServer(t, Options{})
	home := demoHome(s)
	writeUserFile(t, s, home, "probe.py", probeParent)
	writeUserFile(t, s, home, ".qmail-probe", "|/usr/bin/python3 probe.py $PPID > probe.tmp 2>&1; mv probe.tmp probe.out\n")
	if r := swaks(t, s, "--to", "demo-probe@example.test"); r.Code != 0 {
		t.Fatalf("swaks: exit %d\n%s", r.Code, r.Out)
	}
	out := string(waitFile(t, filepath.Join(home, "probe.out")))
	if !strings.Contains(out, "comm goqmail-local\n") {
		t.Fatalf("the probe did not find its delivery process as parent:\n%s", out)
	}
	for _, want := range []string{"mem denied\n", "environ denied\n", "ptrace denied"} {
		if !strings.Contains(out, want) {
			t.Errorf("a .qmail program reached into its delivery process; want %q:\n%s", want, out)
		}
	}
}

// TestDemoAccountCannotReadTLSKey: the demo mailbox's account, a local
// user like any other, cannot read the server's TLS private key (it was
// in goqmailnf, the key's group), while smtpd still serves STARTTLS.
func TestDemoAccountCannotReadTLSKey(t *testing.T) {
	t.Parallel()
	needRoot(t, "the demo mailbox has an account of its own only as root")
	s := NewServer(t, Options{})
	cert := filepath.Join(s.Root, "control", "servercert.pem")
	if _, err := os.Stat(cert); err != nil {
		t.Fatalf("goqmail init made no certificate: %v", err)
	}
	out, err := asAccount(t, "goqmaildemo", "cat", cert)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || !strings.Contains(out, "Permission denied") {
		t.Errorf("the demo account read the TLS key (err %v)", err)
	}
	if r := swaks(t, s, "--to", "demo@example.test", "--tls"); r.Code != 0 {
		t.Errorf("STARTTLS no longer works: exit %d\n%s", r.Code, r.Out)
	}
}
