package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// benchUser creates (once) the account both servers deliver to, and points
// its home at the Postfix side; goqmail's users/assign names its own home.
func benchUser() (uid, gid int) {
	home := filepath.Join(*work, "pf-home")
	if _, err := exec.Command("id", user).CombinedOutput(); err != nil {
		sh("useradd", "--system", "--no-create-home", "--home-dir", home, "--shell", "/usr/sbin/nologin", user)
	} else {
		sh("usermod", "--home", home, user)
	}
	uid, _ = strconv.Atoi(strings.TrimSpace(sh("id", "-u", user)))
	gid, _ = strconv.Atoi(strings.TrimSpace(sh("id", "-g", user)))
	return uid, gid
}

func makeMaildir(home string, uid, gid int) {
	for _, d := range []string{home, home + "/Maildir", home + "/Maildir/tmp", home + "/Maildir/new", home + "/Maildir/cur"} {
		must(os.MkdirAll(d, 0o700))
		must(os.Chown(d, uid, gid))
	}
	must(os.Chmod(home, 0o755))
}

type goqmail struct{ cmd *exec.Cmd }

func setupGoqmail() *goqmail {
	uid, gid := benchUser()
	root := filepath.Join(*work, "gq")
	cmd := exec.Command(filepath.Join(*bin, "goqmail"), "init", root)
	cmd.Env = append(os.Environ(), "GOQMAIL_LISTEN=127.0.0.1:"+gqPort)
	if out, err := cmd.CombinedOutput(); err != nil {
		die("goqmail init: %v\n%s", err, out)
	}
	home := filepath.Join(*work, "gq-home")
	makeMaildir(home, uid, gid)
	assign := fmt.Sprintf("=%s:%s:%d:%d:%s:::\n.\n", user, user, uid, gid, home)
	must(os.WriteFile(filepath.Join(root, "users", "assign"), []byte(assign), 0o644))
	must(os.WriteFile(filepath.Join(root, "control", "concurrencylocal"), []byte(strconv.Itoa(localConc)+"\n"), 0o644))
	// Every message goes to one recipient: its own limit is Postfix's
	// local_destination_concurrency_limit below, not goqmail's default 2.
	must(os.WriteFile(filepath.Join(root, "control", "concurrencylocalrcpt"), []byte(strconv.Itoa(localConc)+"\n"), 0o644))
	// smtp-source opens a connection per message from 127.0.0.1: as
	// Postfix exempts $mynetworks from its anvil limits, goqmail's
	// per-address limits are off for the load generator (docs/limits.md).
	must(os.WriteFile(filepath.Join(root, "control", "concurrencyperip"), []byte("0\n"), 0o644))
	must(os.WriteFile(filepath.Join(root, "control", "connectrateperip"), []byte("0\n"), 0o644))
	if *syncmode != "" {
		must(os.WriteFile(filepath.Join(root, "control", "syncmode"), []byte(*syncmode+"\n"), 0o644))
	}
	relayControl(root)
	if *checks {
		checksControl(root)
	}
	log, err := os.Create(filepath.Join(*work, "goqmail.log"))
	must(err)
	g := &goqmail{cmd: exec.Command(filepath.Join(*bin, "goqmaild"), root)}
	g.cmd.Stdout, g.cmd.Stderr = log, log
	// If bench dies (die exits without running defers), goqmaild stops too
	// instead of holding the port for the next run.
	g.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	must(g.cmd.Start())
	waitPort(gqPort)
	return g
}

func (g *goqmail) stop() {
	g.cmd.Process.Signal(syscall.SIGTERM)
	g.cmd.Wait()
}

// setupPostfix writes a private Postfix instance configured like goqmail:
// SMTP on loopback, local delivery to ~/Maildir/, local concurrency 10,
// no chroot for smtpd, no content filter; relay settings in relay.go.
func setupPostfix() struct{} {
	uid, gid := benchUser()
	makeMaildir(filepath.Join(*work, "pf-home"), uid, gid)
	etc := filepath.Join(*work, "pf", "etc")
	must(os.MkdirAll(etc, 0o755))
	must(os.MkdirAll(filepath.Join(*work, "pf", "spool"), 0o755))
	must(os.MkdirAll(filepath.Join(*work, "pf", "lib"), 0o700))
	sh("chown", "postfix:postfix", filepath.Join(*work, "pf", "lib"))
	main := strings.Join([]string{
		"compatibility_level = 3.6",
		"queue_directory = " + filepath.Join(*work, "pf", "spool"),
		"data_directory = " + filepath.Join(*work, "pf", "lib"),
		"mail_owner = postfix",
		"setgid_group = postdrop",
		"myhostname = pf.example.test",
		"mydomain = example.test",
		"mydestination = example.test",
		"inet_interfaces = 127.0.0.1",
		"inet_protocols = ipv4",
		"mynetworks = 127.0.0.0/8",
		"alias_maps =",
		"alias_database =",
		"home_mailbox = Maildir/",
		"biff = no",
		"local_destination_concurrency_limit = " + strconv.Itoa(localConc),
		"default_process_limit = 200",
		"smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination",
		// Tuned as an admin would for this job (issue 12): no reverse DNS
		// lookup of every client; goqmail does none unless requirerdns asks.
		"smtpd_peername_lookup = no",
		"maillog_file = " + filepath.Join(*work, "pf", "maillog"),
	}, "\n") + "\n" + postfixRelayConf()
	must(os.WriteFile(filepath.Join(etc, "main.cf"), []byte(main), 0o644))
	master, err := os.ReadFile("/etc/postfix/master.cf")
	must(err)
	var lines []string
	for _, l := range strings.Split(string(master), "\n") {
		if strings.HasPrefix(l, "smtp ") && strings.Contains(l, " inet ") {
			l = "127.0.0.1:" + pfPort + " inet n - n - - smtpd"
		}
		lines = append(lines, l)
	}
	must(os.WriteFile(filepath.Join(etc, "master.cf"), []byte(strings.Join(lines, "\n")), 0o644))
	stopPostfix()
	sh("postfix", "-c", etc, "set-permissions")
	if out, err := exec.Command("postfix", "-c", etc, "start").CombinedOutput(); err != nil {
		die("postfix start: %v\n%s", err, out)
	}
	waitPort(pfPort)
	return struct{}{}
}

func stopPostfix() {
	etc := filepath.Join(*work, "pf", "etc")
	if _, err := os.Stat(filepath.Join(etc, "main.cf")); err == nil {
		exec.Command("postfix", "-c", etc, "stop").Run()
	}
}

func postfixVersion() string {
	return "postfix " + strings.TrimSpace(strings.TrimPrefix(sh("postconf", "-d", "-h", "mail_version"), "mail_version ="))
}

func waitPort(port string) {
	for i := 0; i < 200; i++ {
		c, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	die("nothing listens on 127.0.0.1:%s", port)
}
