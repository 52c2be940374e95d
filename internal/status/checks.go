package status

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"goqmail/internal/control"
	"goqmail/internal/logdir"
	"goqmail/internal/logparse"
	"goqmail/internal/queue"
)

// queueState counts queue/msg and finds the oldest message by the birth
// its envelope records; messages the recovery set aside in queue/bad are
// a problem of their own (they are never delivered).
func queueState(r *Report, o Options, now time.Time) {
	l := queue.Layout{Root: filepath.Join(o.Root, "queue")}
	ents, err := os.ReadDir(l.MsgDir())
	if err != nil {
		r.say("queue      cannot read %s: %s", l.MsgDir(), denied(err))
		r.problem("queue: cannot read %s: %s", l.MsgDir(), denied(err))
		return
	}
	n := 0
	var oldest string
	var birth int64
	for _, e := range ents {
		id, suf, ok := queue.SplitName(e.Name())
		if !ok || suf != "" {
			continue
		}
		env, err := queue.ReadEnvelope(l.Msg(id))
		if errors.Is(err, fs.ErrNotExist) {
			continue // finished while we looked
		}
		n++
		if err != nil {
			r.problem("queue: %s: %v", l.Msg(id), err)
			continue
		}
		if oldest == "" || env.Birth < birth {
			oldest, birth = id, env.Birth
		}
	}
	switch {
	case n == 0:
		r.say("queue      empty")
	case oldest == "":
		r.say("queue      %s", plural(n, "message"))
	default:
		waited := now.Sub(time.Unix(birth, 0))
		r.say("queue      %s, the oldest %s queued %s ago", plural(n, "message"), oldest, age(waited))
		if o.QueueAge > 0 && waited > o.QueueAge {
			r.problem("queue stuck: the oldest message, %s, has waited %s, more than %s (goqmail queue show %s; its last deferral says why)", oldest, age(waited), age(o.QueueAge), oldest)
		}
	}
	if bad, err := os.ReadDir(filepath.Join(l.Root, "bad")); err == nil && len(bad) > 0 {
		r.problem("queue: %d file(s) in %s: the recovery set them aside as torn or unreadable and never delivers them (docs/queue.md); look at them, then remove them", len(bad), filepath.Join(l.Root, "bad"))
	}
}

// recentLog counts the deliveries of the last Window and shows the last
// errors, from the log files; other destinations are not read.
func recentLog(r *Report, o Options, snap *control.Snapshot, now time.Time) {
	dir := filepath.Join(o.Root, "log")
	dest := snap.Line(control.LogDest)
	if dest != "files" {
		where := map[string]string{
			"stderr":  "goqmaild's standard error",
			"auto":    "the journal when goqmaild runs under systemd (journalctl -t goqmail-send), else goqmaild's standard error",
			"journal": "the journal (journalctl -t goqmail-send --since -10min)",
			"syslog":  "syslog, facility mail",
		}[dest]
		r.say("deliveries and errors: not shown: control/logdest is %s, so the lines go to %s; with files, status reads them", dest, where)
		return
	}
	files, err := logdir.Files(dir)
	if err != nil {
		r.say("deliveries and errors: cannot read %s: %s", dir, denied(err))
		return
	}
	since := now.Add(-o.Window)
	var counts = map[string]int{}
	var errs []string
	for i, f := range files {
		// A finished file whose last line is older than the window has
		// nothing to count; only its errors would do, and current has the
		// newest ones.
		if st, err := os.Stat(f); err == nil && i < len(files)-2 && st.ModTime().Before(since) {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			r.say("deliveries and errors: cannot read %s: %s", f, denied(err))
			return
		}
		for _, line := range strings.Split(string(b), "\n") {
			l := logparse.Parse(line)
			if l.Kind == logparse.Result && !l.Time.Before(since) {
				counts[l.Result]++
			}
			if l.Level() != "" || l.Result == "failure" {
				errs = append(errs, line)
			}
		}
	}
	r.say("deliveries in the last %s: %d delivered, %d deferred, %d failed (from %s)", age(o.Window),
		counts["success"], counts["deferral"], counts["failure"], dir)
	if len(errs) > o.Errors {
		errs = errs[len(errs)-o.Errors:]
	}
	if len(errs) == 0 {
		r.say("last errors: none in %s", dir)
		return
	}
	r.say("last errors (warnings, alerts, failed deliveries):")
	for _, e := range errs {
		r.say("  %s", e)
	}
}

// certificate reports control/servercert.pem's first certificate: its
// expiry is a problem when past or within CertDays.
func certificate(r *Report, o Options, now time.Time) {
	path := filepath.Join(o.Root, "control", control.ServerCert.Name)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		r.say("certificate: none (%s does not exist: no TLS)", path)
		return
	}
	if err != nil {
		r.say("certificate: cannot read %s: %s", path, denied(err))
		r.problem("certificate: cannot read %s: %s", path, denied(err))
		return
	}
	var cert *x509.Certificate
	for rest := b; cert == nil; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type == "CERTIFICATE" {
			cert, err = x509.ParseCertificate(blk.Bytes)
			if err != nil {
				r.problem("certificate: %s: %v", path, err)
				return
			}
		}
	}
	if cert == nil {
		r.problem("certificate: %s holds no certificate", path)
		return
	}
	left := cert.NotAfter.Sub(now)
	days := int(left.Hours() / 24)
	r.say("certificate: %s, expires %s (%s)", cert.Subject.CommonName, cert.NotAfter.UTC().Format(time.RFC3339), map[bool]string{true: "expired", false: age(left) + " left"}[left <= 0])
	switch {
	case left <= 0:
		r.problem("certificate expired: %s (CN %s) expired on %s; clients refuse TLS (install a new one; it is reread without a restart)", path, cert.Subject.CommonName, cert.NotAfter.UTC().Format(time.RFC3339))
	case days < o.CertDays:
		r.problem("certificate expires soon: %s (CN %s) expires on %s, in %d days (less than %d): renew it", path, cert.Subject.CommonName, cert.NotAfter.UTC().Format(time.RFC3339), days, o.CertDays)
	}
}
