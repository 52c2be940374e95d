package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Op names of the admin session (internal/webadmin/ops.go); ops_test.go
// checks them against the contract's file.
const (
	opWhoami       = "whoami"
	opDomains      = "domains"
	opDomainAdd    = "domain.add"
	opDomainDelete = "domain.delete"
	opDomainSet    = "domain.set"
	opUsers        = "users"
	opUserAdd      = "user.add"
	opUserDelete   = "user.delete"
	opUserPassword = "user.password"
	opUserQuota    = "user.quota"
	opAliases      = "aliases"
	opAliasSet     = "alias.set"
	opAliasDelete  = "alias.delete"
	opQueue        = "queue"
	opQueueShow    = "queue.show"
	opQueueRetry   = "queue.retry"
	opQueueHold    = "queue.hold"
	opQueueRelease = "queue.release"
	opQueueDelete  = "queue.delete"
	opGrants       = "grants"
	opGrantDelete  = "grant.delete"
	opDKIM         = "dkim"
	opDNS          = "dns"
	opLog          = "log"
	opHealth       = "health"
)

// adminAction is one administration form: a POST route that passes the
// named form fields to an op of the admin session, in order, then goes
// back to a page. The admin session checks the role on every op; the
// front refuses site-only actions to a domain admin before asking (Site
// access) and otherwise only hides what a role cannot use.
type adminAction struct {
	path, op string
	access   Access
	confirm  bool // cannot be undone: the form's "sure" box must be ticked
	fields   []string
	done     string
	back     func(f url.Values) string
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return ""
}

func backTo(page, field string) func(url.Values) string {
	return func(f url.Values) string {
		if field == "" {
			return page
		}
		d := f.Get(field)
		if strings.Contains(d, "@") {
			d = domainOf(d)
		}
		return page + "?" + url.Values{"d": {d}}.Encode()
	}
}

var adminActions = []adminAction{
	{"/admin/domain/add", opDomainAdd, Site, false, []string{"name", "alias_of", "quota"}, "Domain added.", backTo("/admin/domains", "")},
	{"/admin/domain/delete", opDomainDelete, Site, true, []string{"name"}, "Domain deleted.", backTo("/admin/domains", "")},
	{"/admin/domain/set", opDomainSet, Admin, false, []string{"name", "catchall", "quota", "postmaster"}, "Domain saved.", backTo("/admin/domains", "")},
	{"/admin/user/add", opUserAdd, Admin, false, []string{"address", "password", "quota", "qmsgs"}, "User added.", backTo("/admin/users", "address")},
	{"/admin/user/delete", opUserDelete, Admin, true, []string{"address"}, "User deleted.", backTo("/admin/users", "address")},
	{"/admin/user/password", opUserPassword, Admin, false, []string{"address", "password"}, "Password set.", backTo("/admin/users", "address")},
	{"/admin/user/quota", opUserQuota, Admin, false, []string{"address", "quota", "qmsgs"}, "Quota set.", backTo("/admin/users", "address")},
	{"/admin/alias/set", opAliasSet, Admin, false, []string{"address", "targets"}, "Alias saved.", backTo("/admin/aliases", "address")},
	{"/admin/alias/delete", opAliasDelete, Admin, false, []string{"address"}, "Alias deleted.", backTo("/admin/aliases", "address")},
	{"/admin/queue/retry", opQueueRetry, Site, false, []string{"id"}, "The message will be tried again now.", backTo("/admin/queue", "")},
	{"/admin/queue/hold", opQueueHold, Site, false, []string{"id"}, "Message held.", backTo("/admin/queue", "")},
	{"/admin/queue/release", opQueueRelease, Site, false, []string{"id"}, "Message released.", backTo("/admin/queue", "")},
	{"/admin/queue/delete", opQueueDelete, Site, true, []string{"id"}, "Message deleted from the queue.", backTo("/admin/queue", "")},
	{"/admin/grant/delete", opGrantDelete, Site, false, []string{"ip"}, "Grant removed.", backTo("/admin/grants", "")},
}

func (a adminAction) handle(c *reqCtx) {
	if a.confirm && !c.confirmOK() {
		return
	}
	f := c.r.PostForm
	args := make([]string, len(a.fields))
	for i, n := range a.fields {
		args[i] = f.Get(n)
	}
	resp := c.call(c.s.admin, a.op, args...)
	if resp == nil {
		return
	}
	c.done(orText(resp.Text, a.done), a.back(f))
}

func (c *reqCtx) adminLinks() []cell {
	l := []cell{{"Overview", "/admin"}, {"Domains", "/admin/domains"}, {"Users", "/admin/users"}, {"Aliases", "/admin/aliases"}, {"DKIM and DNS", "/admin/dns"}}
	if c.s.role == "site" {
		l = append(l, cell{"Queue", "/admin/queue"}, cell{"POP-before-SMTP", "/admin/grants"}, cell{"Log", "/admin/log"}, cell{"Health", "/admin/health"})
	}
	return l
}

func (c *reqCtx) adminPage(title string, secs ...section) {
	c.render(http.StatusOK, "generic", title, genericPage{Links: c.adminLinks(), Sections: secs})
}

func (s *Server) adminHome(c *reqCtx) {
	resp := c.call(c.s.admin, opWhoami)
	if resp == nil {
		return
	}
	text := "You administer "
	if len(resp.Rows) > 0 && len(resp.Rows[0]) >= 3 {
		r := resp.Rows[0]
		if r[0] == "site" {
			text += "the whole site as " + r[2] + "."
		} else {
			text += "the domain " + r[1] + " as " + r[2] + "."
		}
	}
	c.adminPage("Administration", section{Text: text})
}

// domainArg is the domain a page is about: ?d=, or a domain admin's own.
func (c *reqCtx) domainArg() string {
	d := c.r.URL.Query().Get("d")
	if d == "" && c.s.role == "domain" {
		d = c.s.domain
	}
	return d
}

// visible says whether a domains row is shown: a domain admin sees only
// its domain and its alias domains (the session filters too).
func (c *reqCtx) visible(name, aliasOf string) bool {
	return c.s.role == "site" || strings.EqualFold(name, c.s.domain) || strings.EqualFold(aliasOf, c.s.domain)
}

func (s *Server) adminDomains(c *reqCtx) {
	resp := c.call(c.s.admin, opDomains)
	if resp == nil {
		return
	}
	sec := section{Columns: []string{"Domain", "Alias of", "Users", "Aliases", "Catch-all", "Default quota"}, Actions: true}
	for _, r := range resp.Rows {
		if len(r) < 6 || !c.visible(r[0], r[1]) {
			continue
		}
		d := url.Values{"d": {r[0]}}.Encode()
		row := trow{Cells: []cell{{r[0], ""}, {r[1], ""}, {r[2], "/admin/users?" + d}, {r[3], "/admin/aliases?" + d}, {r[4], ""}, {quotaText(r[5]), ""}}}
		if r[1] == "" {
			row.Forms = append(row.Forms, c.inline("/admin/domain/set", "Save", "name", r[0]).
				text("catchall", "Catch-all (bounce, mailbox:LOCAL, forward:ADDRS)", r[4]).
				typed("number", "quota", "Default quota (bytes)", r[5]).text("postmaster", "Postmaster", ""))
		}
		if c.s.role == "site" {
			row.Forms = append(row.Forms, c.inline("/admin/domain/delete", "Delete", "name", r[0]).confirmed())
		}
		sec.Rows = append(sec.Rows, row)
	}
	secs := []section{sec}
	if c.s.role == "site" {
		secs = append(secs, section{Heading: "Add a domain", Forms: []*form{c.form("/admin/domain/add", "Add").text("name", "Domain", "").
			text("alias_of", "Alias of (empty: a real domain)", "").typed("number", "quota", "Default quota (bytes, 0: none)", "")}})
	}
	c.adminPage("Domains", secs...)
}

func quotaText(v string) string {
	n := atoi64(v)
	if n <= 0 {
		return "none"
	}
	return humanBytes(n)
}

// pickDomain shows the domains to choose from when a page needs one.
func (c *reqCtx) pickDomain(title, page string) {
	resp := c.call(c.s.admin, opDomains)
	if resp == nil {
		return
	}
	sec := section{Heading: "Choose a domain", Columns: []string{"Domain"}}
	for _, r := range resp.Rows {
		if len(r) >= 2 && r[1] == "" && c.visible(r[0], r[1]) {
			sec.Rows = append(sec.Rows, trow{Cells: []cell{{r[0], page + "?" + url.Values{"d": {r[0]}}.Encode()}}})
		}
	}
	c.adminPage(title, sec)
}

func (s *Server) adminUsers(c *reqCtx) {
	d := c.domainArg()
	if d == "" {
		c.pickDomain("Users", "/admin/users")
		return
	}
	resp := c.call(c.s.admin, opUsers, d)
	if resp == nil {
		return
	}
	sec := section{Heading: "Users of " + d, Columns: []string{"Address", "Quota", "Message quota", "Used", "Messages"}, Actions: true}
	for _, r := range resp.Rows {
		if len(r) < 5 {
			continue
		}
		sec.Rows = append(sec.Rows, trow{Cells: []cell{{r[0], ""}, {quotaText(r[1]), ""}, {r[2], ""}, {humanBytes(atoi64(r[3])), ""}, {r[4], ""}},
			Forms: []*form{
				c.inline("/admin/user/password", "Set password", "address", r[0]).typed("password", "password", "New password", ""),
				c.inline("/admin/user/quota", "Set quota", "address", r[0]).typed("number", "quota", "Bytes", r[1]).typed("number", "qmsgs", "Messages", r[2]),
				c.inline("/admin/user/delete", "Delete", "address", r[0]).confirmed(),
			}})
	}
	add := c.form("/admin/user/add", "Add user").text("address", "Address", "@"+d).typed("password", "password", "Password", "").
		typed("number", "quota", "Quota bytes (empty: the domain's default)", "").typed("number", "qmsgs", "Quota messages (empty: none)", "")
	c.adminPage("Users", sec, section{Heading: "Add a user", Forms: []*form{add}})
}

func (s *Server) adminAliases(c *reqCtx) {
	d := c.domainArg()
	if d == "" {
		c.pickDomain("Aliases", "/admin/aliases")
		return
	}
	resp := c.call(c.s.admin, opAliases, d)
	if resp == nil {
		return
	}
	sec := section{Heading: "Aliases of " + d, Columns: []string{"Address", "Goes to"}, Actions: true}
	for _, r := range resp.Rows {
		if len(r) < 2 {
			continue
		}
		sec.Rows = append(sec.Rows, trow{Cells: []cell{{r[0], ""}, {r[1], ""}}, Forms: []*form{
			c.inline("/admin/alias/set", "Save", "address", r[0]).text("targets", "Targets", r[1]),
			c.inline("/admin/alias/delete", "Delete", "address", r[0]).danger(),
		}})
	}
	add := c.form("/admin/alias/set", "Save alias").text("address", "Address", "@"+d).text("targets", "Goes to (comma-separated)", "")
	c.adminPage("Aliases", sec, section{Heading: "Add or replace an alias", Text: "The catch-all of the domain is set on the Domains page.", Forms: []*form{add}})
}

func (s *Server) adminQueue(c *reqCtx) {
	resp := c.call(c.s.admin, opQueue)
	if resp == nil {
		return
	}
	sec := section{Heading: strconv.Itoa(len(resp.Rows)) + " messages in the queue", Columns: []string{"Id", "Sender", "Recipients", "Age", "Size", "State", "Next attempt"}, Actions: true}
	for _, r := range resp.Rows {
		if len(r) < 7 {
			continue
		}
		forms := []*form{c.inline("/admin/queue/retry", "Retry now", "id", r[0])}
		if r[5] == "held" {
			forms = append(forms, c.inline("/admin/queue/release", "Release", "id", r[0]))
		} else {
			forms = append(forms, c.inline("/admin/queue/hold", "Hold", "id", r[0]))
		}
		forms = append(forms, c.inline("/admin/queue/delete", "Delete", "id", r[0]).confirmed())
		sec.Rows = append(sec.Rows, trow{Cells: []cell{{r[0], "/admin/queue/show?" + url.Values{"id": {r[0]}}.Encode()}, {r[1], ""}, {r[2], ""},
			{ageText(r[3]), ""}, {humanBytes(atoi64(r[4])), ""}, {r[5], ""}, {unixTime(r[6]), ""}}, Forms: forms})
	}
	c.adminPage("Queue", sec)
}

func ageText(secs string) string {
	n := atoi64(secs)
	switch {
	case n >= 86400:
		return strconv.FormatInt(n/86400, 10) + " d"
	case n >= 3600:
		return strconv.FormatInt(n/3600, 10) + " h"
	case n >= 60:
		return strconv.FormatInt(n/60, 10) + " min"
	}
	return strconv.FormatInt(n, 10) + " s"
}

func (s *Server) adminQueueShow(c *reqCtx) {
	id := c.r.URL.Query().Get("id")
	resp := c.call(c.s.admin, opQueueShow, id)
	if resp == nil {
		return
	}
	c.adminPage("Queued message "+id, section{Pre: resp.Text, Forms: []*form{
		c.inline("/admin/queue/retry", "Retry now", "id", id), c.inline("/admin/queue/hold", "Hold", "id", id),
		c.inline("/admin/queue/release", "Release", "id", id), c.inline("/admin/queue/delete", "Delete", "id", id).confirmed()}})
}

func (s *Server) adminGrants(c *reqCtx) {
	resp := c.call(c.s.admin, opGrants)
	if resp == nil {
		return
	}
	sec := section{Heading: "Addresses allowed to relay after a POP3 login", Columns: []string{"Address", "Expires"}, Actions: true}
	for _, r := range resp.Rows {
		if len(r) >= 2 {
			sec.Rows = append(sec.Rows, trow{Cells: []cell{{r[0], ""}, {unixTime(r[1]), ""}}, Forms: []*form{c.inline("/admin/grant/delete", "Remove", "ip", r[0]).danger()}})
		}
	}
	c.adminPage("POP-before-SMTP", sec)
}

func (s *Server) adminDNS(c *reqCtx) {
	d := c.domainArg()
	if d == "" {
		c.pickDomain("DKIM and DNS", "/admin/dns")
		return
	}
	dk := c.call(c.s.admin, opDKIM, d)
	if dk == nil {
		return
	}
	dn := c.call(c.s.admin, opDNS, d)
	if dn == nil {
		return
	}
	ks := section{Heading: "DKIM keys of " + d, Columns: []string{"Selector", "DNS name", "Record", "Status"}}
	for _, r := range dk.Rows {
		if len(r) >= 4 {
			ks.Rows = append(ks.Rows, trow{Cells: []cell{{r[0], ""}, {r[1], ""}, {r[2], ""}, {r[3], ""}}})
		}
	}
	rs := section{Heading: "DNS records advised for " + d, Columns: []string{"Name", "Type", "Value", "Why"}}
	for _, r := range dn.Rows {
		if len(r) >= 4 {
			rs.Rows = append(rs.Rows, trow{Cells: []cell{{r[0], ""}, {r[1], ""}, {r[2], ""}, {r[3], ""}}})
		}
	}
	c.adminPage("DKIM and DNS", ks, rs)
}

func (s *Server) adminLog(c *reqCtx) {
	n := c.r.URL.Query().Get("n")
	if v, err := strconv.Atoi(n); err != nil || v < 1 || v > 2000 {
		n = "200"
	}
	resp := c.call(c.s.admin, opLog, n)
	if resp == nil {
		return
	}
	var b strings.Builder
	for _, r := range resp.Rows {
		if len(r) > 0 {
			b.WriteString(r[0])
			b.WriteByte('\n')
		}
	}
	c.adminPage("Log", section{Heading: "The newest " + strconv.Itoa(len(resp.Rows)) + " lines", Pre: b.String()})
}

func (s *Server) adminHealth(c *reqCtx) {
	resp := c.call(c.s.admin, opHealth)
	if resp == nil {
		return
	}
	progs := section{Heading: "Programs", Columns: []string{"Program", "State", "Pid", "Up", "Detail"}}
	var queue section
	for _, r := range resp.Rows {
		switch {
		case len(r) >= 3 && r[0] == "queue":
			queue = section{Heading: "Queue", Text: r[1] + " messages; the oldest is " + ageText(r[2]) + " old."}
		case len(r) >= 5:
			progs.Rows = append(progs.Rows, trow{Cells: []cell{{r[0], ""}, {r[1], ""}, {r[2], ""}, {ageText(r[3]), ""}, {r[4], ""}}})
		}
	}
	c.adminPage("Health", progs, queue)
}
