// Package layering holds the test that keeps goqmail's package graph in
// the shape DESIGN.md describes: three tiers, lower tiers never importing
// higher ones, and root programs that link no parser they do not need
// (the idea of tailscale's cmd/tailscaled/deps_test.go).
package layering

import (
	"os/exec"
	"strings"
	"testing"

	"goqmail/internal/supervise"
)

// tiers assigns every internal package to a tier: 1 generic helpers with no
// mail knowledge, 2 shared mail code, 3 one package per program's logic.
var tiers = map[string]int{
	"ipc": 1, "plainfile": 1, "pidlock": 1, "testport": 1, "dirsync": 1, "durable": 1, "atomicfile": 1, "logline": 1, "mdsection": 1,
	"address": 2, "smtp": 2, "control": 2, "proto": 2, "tcprules": 2, "assign": 2, "maildir": 2, "accounts": 2, "queue": 2, "submit": 2, "submit/submittest": 2, "vdir": 2, "pwhash": 2, "quota": 2, "rcptcheck": 2, "rewrite": 2, "mailauth": 2, "aliases": 2, "bounce": 2, "dotqmail": 2, "mbox": 2, "inject": 2, "route": 2, "route/dnstest": 2, "remote": 3, "migrate": 3, "pop3": 3, "authd": 3, "authclient": 2, "relaygrant": 2, "tlsconf": 2,
	"policy": 3, "docscheck": 3, "smtpd": 3, "send": 3, "lspawn": 3, "local": 3, "supervise": 3, "admin": 3, "layering": 3, "ctlcheck": 3,
	"rootdir": 1, "rootdir/roottest": 1, // how every command finds ROOT: no mail knowledge
	"connlimit": 1,               // per-client and per-listener connection limits: counts, no mail knowledge
	"logdir":    1, "logsink": 1, // where log lines go: a rotated directory, the journal, syslog
	"logparse": 2, "logsum": 3, "logwriter": 3, "status": 3, // our own log lines read back, the summary of them, goqmail-log, goqmail status
	"helptext": 1, "manpage": 1, // programs' help texts and their rendering as man pages
	"metrics": 2, "metricsd": 3, // the metric catalog and its transport; goqmail-metrics
	"policydns":  2,                // the DNS resolver and cache of every policy lookup (DNSBL, SPF, DKIM, DMARC)
	"ratelimit":  1,                // N per window per key (GCRA): counts, no mail knowledge
	"timerslack": 1,                // the timer slack a child process starts with
	"clientdns":  3, "greylist": 3, // smtpd's client checks: what DNS says of a client; the greylisting state
	"qmailqueue":   2,           // qmail-queue's envelope and exit codes: smtpd's QMAILQUEUE filters and goqmail-qmail-queue
	"milterclient": 3, "spp": 3, // filter hooks of smtpd: the milter protocol's client side, qmail-spp plugins
	"dkimkey": 2, "dkimsign": 3, // DKIM keys on disk; goqmail-dkimsign (issue 14)
	"srs":       2,                           // the Sender Rewriting Scheme: send and smtpd share it
	"dnsadvice": 3,                           // goqmail dns records|check
	"acmecert":  3, "acmecert/pebbletest": 3, // goqmail-acme: ACME certificates and the MTA-STS policy server; pebble for its tests
	"tlsrpt": 2, // TLS-RPT: outcomes counted per day, reports built and mailed (remote)
	"mtasts": 2, // MTA-STS policies: parse, fetch, cache (remote) and render (goqmail-acme)
	// The web (issue 15): the front and its session protocol, the mailbox
	// session and what it reads and writes, the admin session.
	"webrpc": 2, "mailstore": 2, "mimeview": 2, "webmbox": 3, "webadmin": 3, "web": 3, "vacation": 3,
}

// rootForbidden are packages the root programs must not link: network
// protocol and content parsers, and the log line parser (the supervisor
// holds the log pipes, goqmail-log reads them: docs/logs.md).
var rootForbidden = []string{
	"goqmail/internal/smtp", "goqmail/internal/smtpd", "goqmail/internal/address", "goqmail/internal/tcprules",
	"goqmail/internal/policy", "goqmail/internal/logparse", "goqmail/internal/policydns", "github.com/miekg/dns",
	"goqmail/internal/clientdns", "goqmail/internal/greylist", "encoding/json", "encoding/xml", "net/http", "net/mail", "net/textproto",
	"mime", "mime/multipart", "html", "html/template", "text/template",
}

func goList(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list"}, args...)...).Output()
	if err != nil {
		t.Fatalf("go list %v: %v", args, err)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

func TestTiers(t *testing.T) {
	for _, line := range goList(t, "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "goqmail/...") {
		fields := strings.Fields(line)
		pkg := fields[0]
		if strings.HasPrefix(pkg, "goqmail/cmd/") || strings.HasPrefix(pkg, "goqmail/scripts/") || strings.HasPrefix(pkg, "goqmail/test/") {
			continue
		}
		name := strings.TrimPrefix(pkg, "goqmail/internal/")
		tier, ok := tiers[name]
		if !ok {
			t.Errorf("%s has no tier: add it to the table in this test (and to DESIGN's layout)", pkg)
			continue
		}
		for _, imp := range fields[1:] {
			if strings.HasPrefix(imp, "goqmail/cmd/") {
				t.Errorf("%s imports a command: %s", pkg, imp)
			}
			if !strings.HasPrefix(imp, "goqmail/internal/") {
				continue
			}
			it := tiers[strings.TrimPrefix(imp, "goqmail/internal/")]
			if it > tier {
				t.Errorf("%s (tier %d) imports %s (tier %d): lower tiers never import higher ones", pkg, tier, imp, it)
			}
		}
	}
}

func TestRootProgramsLinkNoParsers(t *testing.T) {
	// goqmail-auth is root (it verifies passwords and starts mailbox
	// sessions as their owners, qmail's checkpassword) and reads the
	// virtual directory, whose alias validation links the address parser:
	// that one is allowed there, no protocol or content parser is.
	allowed := map[string]map[string]bool{"goqmail/cmd/goqmail-auth": {"goqmail/internal/address": true}}
	// The root programs: the supervisor and every service its table runs
	// without an account of its own (docs/processes.md is generated from
	// the same table).
	roots := []string{"goqmail/cmd/goqmaild"}
	for _, svc := range supervise.Services {
		if svc.Account == nil {
			roots = append(roots, "goqmail/cmd/"+svc.Binary)
		}
	}
	if len(roots) < 3 {
		t.Fatalf("root programs %v: the supervisor's table should keep lspawn and auth as root", roots)
	}
	for _, cmd := range roots {
		deps := map[string]bool{}
		for _, d := range goList(t, "-deps", cmd) {
			deps[d] = true
		}
		for _, bad := range rootForbidden {
			if deps[bad] && !allowed[cmd][bad] {
				t.Errorf("%s runs as root and must not link %s", cmd, bad)
			}
		}
	}
}

// TestAdminSessionLinksNoWebParsers: `goqmail admin-session` runs as root
// for a web login with an admin role (internal/webadmin); the goqmail
// command must not link the web's or mail content's parsers. (It may link
// the address and log parsers its other commands need.)
func TestAdminSessionLinksNoWebParsers(t *testing.T) {
	deps := map[string]bool{}
	for _, d := range goList(t, "-deps", "goqmail/cmd/goqmail") {
		deps[d] = true
	}
	if !deps["goqmail/internal/webadmin"] {
		t.Fatal("goqmail no longer links internal/webadmin: where does admin-session live now?")
	}
	for _, bad := range []string{"net/http", "html", "html/template", "text/template", "encoding/json", "encoding/xml",
		"mime", "mime/multipart", "net/mail", "goqmail/internal/web", "goqmail/internal/mimeview", "goqmail/internal/webmbox"} {
		if deps[bad] {
			t.Errorf("goqmail (admin-session, root) links %s", bad)
		}
	}
}
