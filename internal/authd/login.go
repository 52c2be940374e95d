package authd

import (
	"context"
	"crypto/md5"
	"crypto/subtle"
	"encoding/hex"
	"net/netip"
	"strconv"
	"strings"

	"goqmail/internal/proto"
	"goqmail/internal/pwhash"
	"goqmail/internal/relaygrant"
)

// credential is what the client proved: a password, or an APOP digest.
type credential struct {
	login             string
	password          string // never logged
	apop              bool
	timestamp, digest string
}

type outcome int

const (
	outBad  outcome = iota // unknown user, wrong password, locked: one answer
	outOK                  // right
	outTemp                // the backend failed: try again later
)

// Answers to the client. The failure text is the same for every reason.
const (
	textOK   = "authenticated"
	textBad  = "authentication failed"
	textTemp = "temporary authentication failure"
)

// identity is who logged in and, for POP3, whose mailbox to open.
type identity struct {
	user string
	kind string
	owns []string
	mbox *mailbox // nil: the backend knows no mailbox (checkpassword without a matching account)
}

// login checks one credential through the backends, slows and counts
// failures, logs, and records a relay grant when a POP3 login succeeds.
func (s *Server) login(ctx context.Context, service, remoteIP string, cr credential) (proto.Verified, *identity) {
	what := service + " login " + cr.login + " from " + remoteIP
	if cr.apop {
		what = "pop3 APOP login " + cr.login + " from " + remoteIP
	}
	done, refused := s.enter(ctx, what, remoteIP)
	if refused != nil {
		return *refused, nil
	}
	// The address keeps its place until the answer, the failure delay
	// included; the password check gives its slot back as soon as it is
	// done, so sleepers do not hold up other addresses' checks.
	defer done()
	id, out, why := s.checkGated(ctx, cr)
	ipKey, userKey := "ip:"+remoteIP, "user:"+strings.ToLower(cr.login)
	if ip, err := netip.ParseAddr(remoteIP); err == nil {
		ipKey = "ip:" + relaygrant.Normalize(ip).String() // ::ffff:a.b.c.d is a.b.c.d
	}
	switch out {
	case outOK:
		s.throttle.success(userKey)
		s.cfg.Log.Printf("%s: ok, %s user %s", what, id.kind, id.user)
		if grantsRelay(service) {
			s.grant(remoteIP, service+":"+id.user)
		}
		return proto.Verified{OK: true, User: id.user, Kind: id.kind, Owns: id.owns, Text: textOK}, id
	case outTemp:
		s.cfg.Log.Printf("warning: %s: temporary failure: %s", what, why)
		return proto.Verified{Temporary: true, Text: textTemp}, nil
	}
	now := s.cfg.Now()
	n := s.throttle.failure(now, ipKey, userKey)
	delay := failureDelay(n)
	note := ""
	if why != "" {
		note = " (" + why + ")"
	}
	s.cfg.Log.Printf("%s: failed%s; %d failures from this address, %d for this login; delayed %v",
		what, note, s.throttle.count(now, ipKey), s.throttle.count(now, userKey), delay)
	s.cfg.Sleep(delay)
	return proto.Verified{Text: textBad}, nil
}

// grantsRelay says whether a successful login of this service lets the
// client's address relay (POP-before-SMTP). Only mailbox logins do, as
// relay-ctrl's were run from qmail-pop3d: an SMTP AUTH session relays by
// itself, and a grant for its address would open the relay, without
// authentication and with any sender, to everyone behind the same NAT or
// VPN for relaygrantlifetime (issue 11, item 5).
func grantsRelay(service string) bool { return service == proto.ServicePOP3 }

// grant records POP-before-SMTP for the client address; a failure to
// record is logged, not fatal to the login.
func (s *Server) grant(remoteIP, source string) {
	if s.cfg.Grants == nil || s.settings.Load().NoGrants {
		return
	}
	ip, err := netip.ParseAddr(remoteIP)
	if err != nil {
		return // not an IP client (a local socket): nothing to grant
	}
	if err := s.cfg.Grants.Grant(ip, s.settings.Load().GrantLifetime, source); err != nil {
		s.cfg.Log.Printf("warning: relay grant for %s: %v", ip, err)
	}
}

// check runs the backends in order; why explains a failure for the log
// (never the password).
func (s *Server) check(ctx context.Context, cr credential) (*identity, outcome, string) {
	st := s.settings.Load()
	out, id, why := outBad, (*identity)(nil), ""
	local, domain, hasAt := splitLogin(cr.login)
	if hasAt && s.cfg.Dir != nil {
		id, out, why = s.virtual(cr, local, domain)
	}
	if out == outBad && (!hasAt || inLocals(st.Locals, domain)) && s.cfg.Shadow != nil {
		var w string
		id, out, w = s.system(ctx, cr, local)
		why = join(why, w)
	}
	if out == outBad && st.Checkpassword != "" {
		var w string
		id, out, w = s.checkpassword(ctx, st, cr)
		why = join(why, w)
	}
	return id, out, why
}

func join(a, b string) string {
	if a == "" || b == "" {
		return a + b
	}
	return a + "; " + b
}

// splitLogin splits "local@domain" at the last '@' (domain lower-cased).
func splitLogin(login string) (local, domain string, hasAt bool) {
	at := strings.LastIndexByte(login, '@')
	if at < 0 {
		return login, "", false
	}
	return login[:at], strings.ToLower(login[at+1:]), true
}

func inLocals(locals []string, domain string) bool {
	for _, l := range locals {
		if strings.EqualFold(l, domain) {
			return true
		}
	}
	return false
}

// virtual checks a virtual user (vdir). APOP needs the clear password, so
// it works only for users whose stored hash is {PLAIN} (imported clear
// passwords): RFC 1939 section 7's shared secret.
func (s *Server) virtual(cr credential, local, domain string) (*identity, outcome, string) {
	var (
		ok  bool
		err error
	)
	l, d := strings.ToLower(local), domain
	if cr.apop {
		u, found, uerr := s.cfg.Dir.User(l, d)
		err = uerr
		if found && uerr == nil {
			if pwhash.Scheme(u.Hash) != "PLAIN" {
				return nil, outBad, "APOP needs a {PLAIN} password; this virtual user has another scheme"
			}
			ok = apopMatch(cr.timestamp, u.Hash[len("{PLAIN}"):], cr.digest)
			l, d = u.Local, u.Domain
		}
	} else {
		u, found, aerr := s.cfg.Dir.Authenticate(l+"@"+d, cr.password)
		ok, err = found, aerr
		if found {
			l, d = u.Local, u.Domain
		}
	}
	if err != nil {
		return nil, outTemp, "virtual directory: " + err.Error()
	}
	if !ok {
		return nil, outBad, ""
	}
	return s.virtualIdentity(l, d), outOK, ""
}

func (s *Server) virtualIdentity(local, domain string) *identity {
	home := s.cfg.Dir.MailboxHome(local, domain)
	return &identity{
		user: local + "@" + domain, kind: proto.KindVirtual, owns: s.virtualOwns(local, domain),
		mbox: &mailbox{user: local + "@" + domain, uid: s.cfg.VirtualUID, gid: s.cfg.VirtualGID, home: home, maildir: home + "/Maildir"},
	}
}

// apopMatch compares hex(MD5(timestamp + secret)) with digest in constant time.
func apopMatch(timestamp, secret, digest string) bool {
	sum := md5.Sum([]byte(timestamp + secret))
	want := hex.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(want), []byte(digest)) == 1
}

// system checks a Unix account: uid >= 1000 in passwd, then the shadow
// helper. An ineligible account still costs one helper run (with an empty
// name, verified against a dummy hash) so that timing tells nothing.
func (s *Server) system(ctx context.Context, cr credential, name string) (*identity, outcome, string) {
	if cr.apop {
		return nil, outBad, "APOP is not possible for system users (no clear password)"
	}
	pw, found, err := s.cfg.LookupUser(name)
	if err != nil {
		return nil, outTemp, "passwd: " + err.Error()
	}
	eligible := found && pw.UID >= minSystemUID
	ask := name
	if !eligible {
		ask = ""
	}
	a, err := s.cfg.Shadow(ctx, ask, cr.password)
	if err != nil {
		return nil, outTemp, err.Error()
	}
	switch {
	case a == ShadowTemp:
		return nil, outTemp, "shadow helper could not read the shadow file"
	case a == ShadowUnsupported:
		return nil, outBad, "system user's shadow hash is not supported (yescrypt?)"
	case a != ShadowOK || !eligible:
		return nil, outBad, ""
	}
	return s.systemIdentity(pw.Name, pw.UID, pw.GID, pw.Home, proto.KindSystem), outOK, ""
}

func (s *Server) systemIdentity(name string, uid, gid int, home, kind string) *identity {
	var owns []string
	for _, l := range s.settings.Load().Locals {
		owns = append(owns, name+"@"+strings.ToLower(l))
	}
	return &identity{
		user: name, kind: kind, owns: owns,
		mbox: &mailbox{user: name, uid: uid, gid: gid, home: home, maildir: strings.TrimSuffix(home, "/") + "/Maildir"},
	}
}

// checkpassword asks the admin's program. On success the program has
// said nothing about the mailbox (it would exec "true" as the user), so
// the mailbox is looked up: a virtual user of that name, else a system
// account (uid >= 1000).
func (s *Server) checkpassword(ctx context.Context, st *Settings, cr credential) (*identity, outcome, string) {
	secret, ts := cr.password, ""
	if cr.apop {
		secret, ts = cr.digest, cr.timestamp
	}
	out, err := runCheckpassword(ctx, st.Checkpassword, cr.login, secret, ts)
	if out != outOK {
		if err != nil {
			return nil, out, err.Error()
		}
		return nil, out, ""
	}
	local, domain, hasAt := splitLogin(cr.login)
	if hasAt && s.cfg.Dir != nil {
		if u, found, err := s.cfg.Dir.User(strings.ToLower(local), domain); err == nil && found {
			id := s.virtualIdentity(u.Local, u.Domain)
			id.kind = proto.KindCheckpassword
			return id, outOK, ""
		}
	}
	id := &identity{user: cr.login, kind: proto.KindCheckpassword}
	if hasAt {
		id.owns = []string{strings.ToLower(cr.login)}
	}
	if !hasAt || inLocals(st.Locals, domain) {
		if pw, found, err := s.cfg.LookupUser(local); err == nil && found && pw.UID >= minSystemUID {
			sys := s.systemIdentity(pw.Name, pw.UID, pw.GID, pw.Home, proto.KindCheckpassword)
			sys.user = cr.login
			if hasAt {
				sys.owns = append(id.owns, sys.owns...)
			}
			return sys, outOK, ""
		}
	}
	if !hasAt {
		for _, l := range st.Locals {
			id.owns = append(id.owns, cr.login+"@"+strings.ToLower(l))
		}
	}
	return id, outOK, ""
}

func splitComma(v string) []string {
	var out []string
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func atoiStrict(s string) (int, error) { return strconv.Atoi(s) }
