package admin

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"goqmail/internal/accounts"
	"goqmail/internal/atomicfile"
)

// ServiceOptions are `goqmail install`'s options beyond the installation
// itself (issue 16, item 2): what a real MX needs around it.
type ServiceOptions struct {
	Systemd bool   // write the systemd unit
	Links   bool   // link /usr/sbin/sendmail, /usr/bin/mailq, /usr/bin/newaliases
	MX      bool   // listen on 25, 587, 465, 110 and 995 with Cert
	Cert    string // PEM file with the certificate chain (and the key unless Key)
	Key     string // PEM file with the private key; "": in Cert
	// DestDir prefixes every path outside ROOT (the unit, the links, a
	// ManDir given): a staged tree for packaging, or a test's scratch
	// directory. update-alternatives is not used with it.
	DestDir string
	ManDir  string            // where man pages go; "": ROOT/man
	Pages   map[string]string // man pages by file name ("goqmail.8"), from `goqmail`'s help texts
}

// UnitName is the systemd unit goqmail install writes.
const UnitName = "goqmail.service"

// unitDir is where an administrator's units live (systemd.unit(5)).
const unitDir = "/etc/systemd/system"

// The links of the system's mail commands to ROOT/bin (LSB and Debian
// paths), and the update-alternatives group that carries them.
var systemLinks = []struct{ link, name, prog string }{
	{"/usr/sbin/sendmail", "mta", "sendmail"},
	{"/usr/bin/mailq", "mta-mailq", "mailq"},
	{"/usr/bin/newaliases", "mta-newaliases", "newaliases"},
}

// alternativesPriority ranks goqmail among the mta alternatives.
const alternativesPriority = "30"

// mxListeners are the listeners of a real MX: SMTP, submission,
// submission over TLS, POP3 and POP3 over TLS on every address.
var mxListeners = []struct{ file, addr, what string }{
	{"smtplisten", ":25", "SMTP (port 25)"},
	{"submissionlisten", ":587", "submission with STARTTLS and AUTH (port 587)"},
	{"smtpslisten", ":465", "submission over TLS (port 465)"},
	{"pop3listen", ":110", "POP3 with STLS (port 110)"},
	{"pop3slisten", ":995", "POP3 over TLS (port 995)"},
}

// Unit is the systemd unit of the installation at root. goqmaild is the
// service: it stops its programs in order on SIGTERM (smtpd first, the
// queue last; up to 60 s a stage), so only it gets the SIGTERM
// (KillMode=mixed) and the stop may take three stages' time. The pages
// are named by path (file:): man: would need them on the manpath, and
// systemd-analyze verify runs man to check.
func Unit(root, manDir string) string {
	return fmt.Sprintf(`# Written by goqmail install; goqmail uninstall removes it.
[Unit]
Description=goqmail mail server (%[1]s)
Documentation=file:%[2]s/man8/goqmaild.8 file:%[2]s/man8/goqmail.8
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStart=%[1]s/bin/goqmaild %[1]s
ExecReload=/bin/kill -HUP $MAINPID
KillMode=mixed
TimeoutStopSec=200
Restart=on-failure
RestartSec=5
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
`, root, manDir)
}

// InstallService does what o asks after Install, printing each step.
func InstallService(root string, o ServiceOptions, out io.Writer) error {
	root, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	if o.MX {
		if err := installMX(root, o, out); err != nil {
			return err
		}
	}
	if err := installMan(root, o, out); err != nil {
		return err
	}
	if o.Systemd {
		path := filepath.Join(o.DestDir, unitDir, UnitName)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := atomicfile.WriteFile(path, []byte(Unit(root, strings.TrimPrefix(manDir(root, o), o.DestDir))), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		fmt.Fprintf(out, "wrote %s: start with `systemctl daemon-reload && systemctl enable --now goqmail`\n", path)
	}
	if o.Links {
		if err := installLinks(root, o.DestDir, out); err != nil {
			return err
		}
	}
	return nil
}

// installMX checks and copies the certificate, then writes the listen
// files. A certificate that does not load stops before anything changes.
func installMX(root string, o ServiceOptions, out io.Writer) error {
	if o.Cert == "" {
		return errors.New("-mx needs -cert FILE (a PEM certificate chain with its private key, or -key FILE for the key): submission, port 465 and port 995 need TLS")
	}
	pem, err := os.ReadFile(o.Cert)
	if err != nil {
		return fmt.Errorf("-cert: %w", err)
	}
	if o.Key != "" {
		key, err := os.ReadFile(o.Key)
		if err != nil {
			return fmt.Errorf("-key: %w", err)
		}
		pem = append(append(key, '\n'), pem...)
	}
	if _, err := tls.X509KeyPair(pem, pem); err != nil {
		return fmt.Errorf("-cert %s: not a certificate with its private key (PEM): %w; give the key with -key FILE if it is in another file", o.Cert, err)
	}
	path := filepath.Join(root, "control", "servercert.pem")
	if err := atomicfile.WriteFile(path, pem, 0o640); err != nil {
		return err
	}
	gid, err := groupID(accounts.NoFiles)
	if err != nil {
		return err
	}
	if err := os.Chown(path, 0, gid); err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %s from %s (0640 root:%s)\n", path, o.Cert, accounts.NoFiles)
	for _, l := range mxListeners {
		p := filepath.Join(root, "control", l.file)
		if err := atomicfile.WriteFile(p, []byte(l.addr+"\n"), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(out, "wrote %s: %s on %s\n", p, l.what, l.addr)
	}
	return nil
}

// manDir is where the pages go.
func manDir(root string, o ServiceOptions) string {
	if o.ManDir != "" {
		return filepath.Join(o.DestDir, o.ManDir)
	}
	return filepath.Join(root, "man")
}

func installMan(root string, o ServiceOptions, out io.Writer) error {
	if len(o.Pages) == 0 {
		return nil
	}
	dir := manDir(root, o)
	for _, name := range sortedKeys(o.Pages) {
		sec := "man" + strings.TrimPrefix(filepath.Ext(name), ".")
		if err := os.MkdirAll(filepath.Join(dir, sec), 0o755); err != nil {
			return err
		}
		if err := atomicfile.WriteFile(filepath.Join(dir, sec, name), []byte(o.Pages[name]), 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "wrote %d man pages under %s (man -M %s goqmail)\n", len(o.Pages), dir, dir)
	return nil
}

func sortedKeys(m map[string]string) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return k
}

// installLinks points the system's sendmail, mailq and newaliases at
// ROOT/bin. With update-alternatives (Debian) and no DestDir they join
// its "mta" group, which refuses to replace another MTA's real file; with
// DestDir they are plain symbolic links in the staged tree
// (update-alternatives --instdir still wrote into the real /usr/bin when
// we tried it, dpkg 1.21). A real file is never replaced.
func installLinks(root, destDir string, out io.Writer) error {
	ua, _ := exec.LookPath("update-alternatives")
	if ua != "" && destDir == "" {
		args := []string{"--install", systemLinks[0].link, systemLinks[0].name, filepath.Join(root, "bin", systemLinks[0].prog), alternativesPriority}
		for _, l := range systemLinks[1:] {
			args = append(args, "--slave", l.link, l.name, filepath.Join(root, "bin", l.prog))
		}
		if err := run(out, ua, args...); err != nil {
			return err
		}
		for _, l := range systemLinks {
			if target, err := filepath.EvalSymlinks(l.link); err != nil || target != filepath.Join(root, "bin", "sendmail") {
				fmt.Fprintf(out, "warning: %s is not goqmail's: another MTA's program is there and update-alternatives left it (dpkg -S %s says whose); remove that MTA, then run goqmail install -links again\n", l.link, l.link)
			}
		}
		return nil
	}
	for _, l := range systemLinks {
		path := filepath.Join(destDir, l.link)
		target := filepath.Join(root, "bin", l.prog)
		if st, err := os.Lstat(path); err == nil && st.Mode()&fs.ModeSymlink == 0 {
			fmt.Fprintf(out, "warning: %s is a file, not a link: left alone (another MTA's?); remove it and run goqmail install -links again\n", path)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		os.Remove(path)
		if err := os.Symlink(target, path); err != nil {
			return err
		}
		fmt.Fprintf(out, "linked %s -> %s\n", path, target)
	}
	return nil
}

// UninstallOptions say where InstallService put things.
type UninstallOptions struct {
	DestDir string
	ManDir  string
	Pages   []string // man page file names
}

// Uninstall removes what install put in place, the programs, the unit,
// the links and the man pages, and leaves the mail (queue/, mailboxes,
// vmail/) and the configuration (control/, users/, vdir/) and the
// accounts that own them. It prints each step.
func Uninstall(root string, o UninstallOptions, out io.Writer) error {
	if os.Geteuid() != 0 {
		return errors.New("uninstall needs root: the programs, the unit and the links belong to root")
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(root, "bin", "goqmaild")); err != nil {
		return fmt.Errorf("%s has no bin/goqmaild: not a goqmail installation, or already uninstalled", root)
	}
	if pid, ok := runningServer(root); ok {
		return fmt.Errorf("goqmaild is running on %s (pid %d): stop it first (systemctl stop goqmail, or kill -TERM %d)", root, pid, pid)
	}
	unit := filepath.Join(o.DestDir, unitDir, UnitName)
	if b, err := os.ReadFile(unit); err == nil && strings.Contains(string(b), root+"/bin/goqmaild") {
		if o.DestDir == "" && systemdRunning() {
			run(out, "systemctl", "disable", UnitName)
		}
		if err := os.Remove(unit); err != nil {
			return err
		}
		fmt.Fprintf(out, "removed %s\n", unit)
	}
	ua, _ := exec.LookPath("update-alternatives")
	if ua != "" && o.DestDir == "" && alternativeRegistered(ua, root) {
		if err := run(out, ua, "--remove", systemLinks[0].name, filepath.Join(root, "bin", "sendmail")); err != nil {
			return err
		}
	}
	for _, l := range systemLinks {
		path := filepath.Join(o.DestDir, l.link)
		if target, err := os.Readlink(path); err == nil && strings.HasPrefix(target, root+"/bin/") {
			os.Remove(path)
			fmt.Fprintf(out, "removed %s\n", path)
		}
	}
	dir := manDir(root, ServiceOptions{DestDir: o.DestDir, ManDir: o.ManDir})
	removed := 0
	for _, name := range o.Pages {
		if os.Remove(filepath.Join(dir, "man"+strings.TrimPrefix(filepath.Ext(name), "."), name)) == nil {
			removed++
		}
	}
	if removed > 0 {
		fmt.Fprintf(out, "removed %d man pages from %s\n", removed, dir)
		if o.ManDir == "" {
			removeEmpty(filepath.Join(root, "man"))
		}
	}
	for i := len(Layout) - 1; i >= 0; i-- {
		e := Layout[i]
		if !strings.HasPrefix(e.Path, "bin/") {
			continue
		}
		if err := os.Remove(filepath.Join(root, e.Path)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if err := os.Remove(filepath.Join(root, "bin")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(out, "warning: %s: %v (files goqmail did not install are left)\n", filepath.Join(root, "bin"), err)
	} else {
		fmt.Fprintf(out, "removed the programs (%s)\n", filepath.Join(root, "bin"))
	}
	fmt.Fprintf(out, "kept the mail (%s/queue, the mailboxes) and the configuration (%s/control, users, vdir) and goqmail's accounts; `goqmail install %s` puts the programs back\n", root, root, root)
	return nil
}

// removeEmpty removes dir's empty subdirectories, then dir if empty.
func removeEmpty(dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.IsDir() {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	os.Remove(dir)
}

// systemdRunning: systemd is PID 1 (sd_booted(3)'s test).
func systemdRunning() bool {
	st, err := os.Stat("/run/systemd/system")
	return err == nil && st.IsDir()
}

// alternativeRegistered says whether ROOT's sendmail is in the mta group.
func alternativeRegistered(ua, root string) bool {
	b, err := exec.Command(ua, "--list", systemLinks[0].name).Output()
	return err == nil && strings.Contains(string(b), filepath.Join(root, "bin", "sendmail"))
}
