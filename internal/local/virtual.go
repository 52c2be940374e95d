package local

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	"goqmail/internal/dotqmail"
	"goqmail/internal/quota"
	"goqmail/internal/vdir"
)

// Virtual deliveries (docs/virtual.md): the spawner runs them as the
// virtual account with Home = the root of the virtual mailboxes and Ext =
// the local part. What vpopmail did with users/assign, `.qmail-default` and
// vdelivermail, goqmail does here:
//
//  1. the directory resolves the address (alias domains included) and
//     names the real domain, whose directory ROOT/vmail/<domain> becomes
//     the home;
//  2. a `.qmail-<local>` (or `.qmail-<local-prefix>-default`) file there
//     decides, as vpopmail's per-user .qmail files did;
//  3. otherwise the directory's answer: a mailbox (with its Maildir++
//     quota), a forward, or no such user, where a domain's `.qmail-default`
//     (vpopmail's catch-all instructions) still gets a chance.

// virtualHome resolves the address and moves the delivery into the real
// domain's directory.
func (d *delivery) virtualHome() error {
	dir := d.w.Directory
	if dir == nil {
		return temporary("Virtual delivery is not configured (no directory). (#4.3.0)")
	}
	res, err := dir.Resolve(d.req.Ext, d.req.Domain)
	if err != nil {
		return temporary("Unable to read the user directory: %v. (#4.3.0)", err)
	}
	d.vres = res
	domain := strings.ToLower(d.req.Domain)
	if res.Domain != "" {
		domain = res.Domain
	}
	if domain == "" || strings.ContainsAny(domain, "/\x00") || domain[0] == '.' {
		return permanent(textNoMailbox)
	}
	home := filepath.Join(d.req.Home, domain)
	if _, err := os.Stat(home); errors.Is(err, os.ErrNotExist) {
		// A domain with no mailbox yet: nothing but the directory's
		// answer can apply; deliveries into it create nothing here.
		if res.Kind == vdir.Mailbox {
			return temporary("Mailbox directory %s is missing. (#4.2.1)", home)
		}
	}
	d.req.Home, d.info.Home = home, home
	return nil
}

// virtualPlan is steps 2 and 3.
func (d *delivery) virtualPlan() ([]dotqmail.Instruction, error) {
	if _, err := os.Stat(d.req.Home); errors.Is(err, os.ErrNotExist) {
		return d.directoryPlan(nil)
	}
	found, err := dotqmail.Search(dotqmail.Home(d.req.Home), "-", d.req.Ext)
	if err != nil {
		return nil, err
	}
	d.info.Default, d.info.HasDefault = found.Default, found.HasDefault
	if found.Name != "" && found.Name != ".qmail-default" && len(found.Data) > 0 {
		plan, err := dotqmail.Parse(found.Data, found.ForwardOnly)
		if err == nil {
			d.userQuota(plan)
		}
		return plan, err
	}
	return d.directoryPlan(&found)
}

// userQuota keeps a user's quota when their own .qmail-<local> (the one
// the webmail writes for forwarding and vacation, docs/web.md) still
// delivers into their Maildir: the file changes what else happens to the
// mail, not how much the mailbox may hold.
func (d *delivery) userQuota(plan []dotqmail.Instruction) {
	if d.vres.Kind != vdir.Mailbox || (d.vres.Quota == 0 && d.vres.QuotaMessages == 0) {
		return
	}
	box := filepath.Join(d.req.Home, d.vres.Local, "Maildir")
	for _, in := range plan {
		p := in.Value
		if !filepath.IsAbs(p) {
			p = filepath.Join(d.req.Home, p)
		}
		if in.Kind == dotqmail.Maildir && filepath.Clean(p) == box {
			d.quota = &mailboxQuota{dir: box, lim: quota.Limits{Bytes: d.vres.Quota, Messages: d.vres.QuotaMessages}}
			return
		}
	}
}

// directoryPlan turns the directory's answer into instructions; def is the
// domain's .qmail-default search result, if any.
func (d *delivery) directoryPlan(def *dotqmail.Found) ([]dotqmail.Instruction, error) {
	switch d.vres.Kind {
	case vdir.Mailbox:
		maildir := filepath.Join(d.vres.Local, "Maildir") + "/"
		lim := quota.Limits{Bytes: d.vres.Quota, Messages: d.vres.QuotaMessages}
		if lim.Bytes > 0 || lim.Messages > 0 {
			d.quota = &mailboxQuota{dir: filepath.Join(d.req.Home, d.vres.Local, "Maildir"), lim: lim}
		}
		return []dotqmail.Instruction{{Kind: dotqmail.Maildir, Value: "./" + maildir}}, nil
	case vdir.Forward:
		var plan []dotqmail.Instruction
		for _, t := range d.vres.Targets {
			plan = append(plan, dotqmail.Instruction{Kind: dotqmail.Forward, Value: t})
		}
		if len(plan) == 0 {
			return nil, permanent(textNoMailbox)
		}
		return plan, nil
	}
	if d.vres.Kind == vdir.NoSuch && def != nil && def.Name == ".qmail-default" && len(def.Data) > 0 {
		return dotqmail.Parse(def.Data, def.ForwardOnly)
	}
	return nil, permanent(textNoMailbox)
}

// mailboxQuota is a virtual mailbox's Maildir++ quota (maildirsize), which
// Dovecot and Courier read too.
type mailboxQuota struct {
	dir string
	lim quota.Limits
}

// check refuses a message that does not fit: temporarily while it is
// young, for good once it is old; small messages always get through, as
// vpopmail let them (quota.Decide).
func (q *mailboxQuota) check(d *delivery) error {
	size := q.size(d)
	usage, _, err := quota.Check(q.dir, q.lim, size)
	if err != nil {
		return temporary("Unable to read the mailbox quota: %v. (#4.3.0)", err)
	}
	age := time.Duration(0)
	if d.req.Birth > 0 {
		age = d.info.Now.Sub(time.Unix(d.req.Birth, 0))
	}
	ok, perm, text := quota.Decide(usage, q.lim, size, age)
	switch {
	case ok:
		return nil
	case perm:
		return permanent(text)
	}
	return temporary("%s", text)
}

// record adds the delivered message to maildirsize; a failure only makes
// the next check recalculate.
func (q *mailboxQuota) record(d *delivery) {
	if err := quota.Add(q.dir, q.lim, q.size(d)); err != nil {
		d.w.Log.Printf("warning: %s: maildirsize: %v", q.dir, err)
	}
}

// size is what the message takes in the Maildir: our two header lines and
// the content.
func (q *mailboxQuota) size(d *delivery) int64 {
	return int64(len(d.info.RPLine())+len(d.info.DTLine())) + d.req.Size
}
