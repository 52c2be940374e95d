package webadmin

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"goqmail/internal/admin"
	"goqmail/internal/proto"
	"goqmail/internal/vdir"
	"goqmail/internal/webrpc"
)

// Domains, users and aliases: listings read the directory; changes run
// the very commands `goqmail domain|user|alias` run (internal/admin), with
// arguments built here, never through a shell. Values go in --name=value
// form, so none can be taken for an option; positional ones that start
// with '-' are refused (plain).

func init() {
	register(OpDomains, domainWide, (*Session).domains)
	register(OpDomainAdd, siteOnly, (*Session).domainAdd)
	register(OpDomainDelete, siteOnly, (*Session).domainDelete)
	register(OpDomainSet, domainWide, (*Session).domainSet)
	register(OpUsers, domainWide, (*Session).users)
	register(OpUserAdd, domainWide, (*Session).userAdd)
	register(OpUserDelete, domainWide, (*Session).userDelete)
	register(OpUserPassword, domainWide, (*Session).userPassword)
	register(OpUserQuota, domainWide, (*Session).userQuota)
	register(OpAliases, domainWide, (*Session).aliases)
	register(OpAliasSet, domainWide, (*Session).aliasSet)
	register(OpAliasDelete, domainWide, (*Session).aliasDelete)
}

// run runs one internal/admin command and answers with its output.
func (s *Session) run(cmd func(admin.Opener, []string, admin.PasswordSource, *strings.Builder) (bool, error), args []string, pw string) *webrpc.Response {
	open := func() (vdir.Directory, error) { return s.Open() }
	var out strings.Builder
	if _, err := cmd(open, args, func(string) (string, error) { return pw, nil }, &out); err != nil {
		return failure(err)
	}
	return &webrpc.Response{Text: strings.TrimSpace(out.String())}
}

func domainCmd(open admin.Opener, args []string, _ admin.PasswordSource, out *strings.Builder) (bool, error) {
	return admin.DomainCmd(open, args, out)
}

func userCmd(open admin.Opener, args []string, pw admin.PasswordSource, out *strings.Builder) (bool, error) {
	return admin.UserCmd(open, args, pw, out)
}

func aliasCmd(open admin.Opener, args []string, _ admin.PasswordSource, out *strings.Builder) (bool, error) {
	return admin.AliasCmd(open, args, out)
}

func (s *Session) domains(req *webrpc.Request) *webrpc.Response {
	if r := nargs(req, 0, 0); r != nil {
		return r
	}
	d, err := s.Open()
	if err != nil {
		return failure(err)
	}
	all, err := d.Domains()
	if err != nil {
		return failure(err)
	}
	resp := &webrpc.Response{}
	for _, dom := range all {
		if s.Role != proto.RoleSite && dom.Name != s.Domain && dom.AliasOf != s.Domain {
			continue
		}
		users, aliases := 0, 0
		if dom.AliasOf == "" {
			us, err := d.Users(dom.Name)
			if err != nil {
				return failure(err)
			}
			as, err := d.Aliases(dom.Name)
			if err != nil {
				return failure(err)
			}
			users, aliases = len(us), len(as)
		}
		catchall := ""
		if dom.AliasOf == "" {
			catchall = dom.Catchall.String()
		}
		resp.Rows = append(resp.Rows, []string{dom.Name, dom.AliasOf, strconv.Itoa(users), strconv.Itoa(aliases), catchall, strconv.FormatInt(dom.Quota, 10)})
	}
	return resp
}

func (s *Session) domainAdd(req *webrpc.Request) *webrpc.Response {
	if r := nargs(req, 1, 3); r != nil {
		return r
	}
	name, aliasOf, quota := req.Arg(0), req.Arg(1), req.Arg(2)
	if r := plain("domain", name); r != nil {
		return r
	}
	args := []string{"add", name}
	if aliasOf != "" {
		args = append(args, "--alias-of="+aliasOf)
	}
	if quota != "" {
		args = append(args, "--quota="+quota)
	}
	return s.run(domainCmd, args, "")
}

func (s *Session) domainDelete(req *webrpc.Request) *webrpc.Response {
	if r := nargs(req, 1, 1); r != nil {
		return r
	}
	if r := plain("domain", req.Arg(0)); r != nil {
		return r
	}
	return s.run(domainCmd, []string{"del", req.Arg(0)}, "")
}

// domainSet changes what is given: catchall and quota when not empty,
// postmaster when the argument is there ("" = the user postmaster).
func (s *Session) domainSet(req *webrpc.Request) *webrpc.Response {
	if r := nargs(req, 2, 4); r != nil {
		return r
	}
	name, refused := s.checkDomain(req.Arg(0))
	if refused != nil {
		return refused
	}
	args := []string{"set", name}
	if c := req.Arg(1); c != "" {
		args = append(args, "--catchall="+c)
	}
	if q := req.Arg(2); q != "" {
		args = append(args, "--quota="+q)
	}
	if len(req.Args) > 3 {
		args = append(args, "--postmaster="+req.Arg(3))
	}
	if len(args) == 2 {
		return webrpc.Errorf(webrpc.Invalid, "domain.set: nothing to change")
	}
	return s.run(domainCmd, args, "")
}

func (s *Session) users(req *webrpc.Request) *webrpc.Response {
	if r := nargs(req, 1, 1); r != nil {
		return r
	}
	name, refused := s.checkDomain(req.Arg(0))
	if refused != nil {
		return refused
	}
	d, err := s.Open()
	if err != nil {
		return failure(err)
	}
	us, err := d.Users(name)
	if err != nil {
		return failure(err)
	}
	resp := &webrpc.Response{}
	for _, u := range us {
		bytes, msgs := usage(filepath.Join(d.MailboxHome(u.Local, u.Domain), "Maildir"))
		resp.Rows = append(resp.Rows, []string{u.Local + "@" + u.Domain, strconv.FormatInt(u.QuotaBytes, 10),
			strconv.FormatInt(u.QuotaMessages, 10), strconv.FormatInt(bytes, 10), strconv.FormatInt(msgs, 10)})
	}
	return resp
}

// usage counts a Maildir's messages and bytes (new/ and cur/ of the inbox
// and of each Maildir++ folder) by reading the directories. It never
// writes: maildirsize belongs to the mailbox owner, and this session runs
// as root, so quota.Check, which may rewrite the file, is not used.
func usage(maildir string) (bytes, msgs int64) {
	dirs := []string{maildir}
	if ents, err := os.ReadDir(maildir); err == nil {
		for _, e := range ents {
			if e.IsDir() && strings.HasPrefix(e.Name(), ".") && e.Name() != "." && e.Name() != ".." {
				dirs = append(dirs, filepath.Join(maildir, e.Name()))
			}
		}
	}
	for _, dir := range dirs {
		for _, sub := range []string{"new", "cur"} {
			ents, err := os.ReadDir(filepath.Join(dir, sub))
			if err != nil {
				continue
			}
			for _, e := range ents {
				if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
					bytes += info.Size()
					msgs++
				}
			}
		}
	}
	return bytes, msgs
}

func (s *Session) userAdd(req *webrpc.Request) *webrpc.Response {
	if r := nargs(req, 2, 4); r != nil {
		return r
	}
	addr, refused := s.checkAddress(req.Arg(0))
	if refused != nil {
		return refused
	}
	if r := s.notSiteAdmin(addr); r != nil {
		return r
	}
	if req.Arg(1) == "" {
		return webrpc.Errorf(webrpc.Invalid, "give the new user a password")
	}
	args := []string{"add", addr, "--password-stdin"}
	if q := req.Arg(2); q != "" {
		args = append(args, "--quota="+q)
	}
	if q := req.Arg(3); q != "" {
		args = append(args, "--quota-messages="+q)
	}
	return s.run(userCmd, args, req.Arg(1))
}

func (s *Session) userDelete(req *webrpc.Request) *webrpc.Response {
	if r := nargs(req, 1, 1); r != nil {
		return r
	}
	addr, refused := s.checkAddress(req.Arg(0))
	if refused != nil {
		return refused
	}
	if r := s.notSiteAdmin(addr); r != nil {
		return r
	}
	if strings.EqualFold(addr, s.Login) {
		return webrpc.Errorf(webrpc.Invalid, "you cannot delete the account you are logged in with")
	}
	return s.run(userCmd, []string{"del", addr}, "")
}

func (s *Session) userPassword(req *webrpc.Request) *webrpc.Response {
	if r := nargs(req, 2, 2); r != nil {
		return r
	}
	addr, refused := s.checkAddress(req.Arg(0))
	if refused != nil {
		return refused
	}
	if r := s.notSiteAdmin(addr); r != nil {
		return r
	}
	if req.Arg(1) == "" {
		return webrpc.Errorf(webrpc.Invalid, "empty password: nothing changed")
	}
	return s.run(userCmd, []string{"passwd", addr, "--password-stdin"}, req.Arg(1))
}

func (s *Session) userQuota(req *webrpc.Request) *webrpc.Response {
	if r := nargs(req, 3, 3); r != nil {
		return r
	}
	addr, refused := s.checkAddress(req.Arg(0))
	if refused != nil {
		return refused
	}
	if r := s.notSiteAdmin(addr); r != nil {
		return r
	}
	return s.run(userCmd, []string{"set", addr, "--quota=" + req.Arg(1), "--quota-messages=" + req.Arg(2)}, "")
}

func (s *Session) aliases(req *webrpc.Request) *webrpc.Response {
	if r := nargs(req, 1, 1); r != nil {
		return r
	}
	name, refused := s.checkDomain(req.Arg(0))
	if refused != nil {
		return refused
	}
	d, err := s.Open()
	if err != nil {
		return failure(err)
	}
	as, err := d.Aliases(name)
	if err != nil {
		return failure(err)
	}
	resp := &webrpc.Response{}
	for _, a := range as {
		resp.Rows = append(resp.Rows, []string{a.Local + "@" + a.Domain, strings.Join(a.Targets, ",")})
	}
	return resp
}

func (s *Session) aliasSet(req *webrpc.Request) *webrpc.Response {
	if r := nargs(req, 2, 2); r != nil {
		return r
	}
	addr, refused := s.checkAddress(req.Arg(0))
	if refused != nil {
		return refused
	}
	var targets []string
	for _, t := range strings.Split(req.Arg(1), ",") {
		if t = strings.TrimSpace(t); t != "" {
			if r := plain("target", t); r != nil {
				return r
			}
			targets = append(targets, t)
		}
	}
	if len(targets) == 0 {
		return webrpc.Errorf(webrpc.Invalid, "give at least one target")
	}
	return s.run(aliasCmd, append([]string{"add", addr}, targets...), "")
}

func (s *Session) aliasDelete(req *webrpc.Request) *webrpc.Response {
	if r := nargs(req, 1, 1); r != nil {
		return r
	}
	addr, refused := s.checkAddress(req.Arg(0))
	if refused != nil {
		return refused
	}
	return s.run(aliasCmd, []string{"del", addr}, "")
}
