package webadmin

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"goqmail/internal/control"
	"goqmail/internal/proto"
	"goqmail/internal/webrpc"
)

// notSiteAdmin refuses a domain admin any change to the account of a site
// administrator (a login in control/webadmins) of its own domain. Without
// it the postmaster of D, who manages D's users, could set the password of
// a site administrator who is a user of D (or delete that user and add it
// again with a password of its own) and log in as the site administrator:
// a domain admin becoming the site admin (found in the security review of
// issue 15; test/e2e TestWebDomainAdminCannotTakeOverSiteAdmin). A site
// admin may change any account. A webadmins file that cannot be read
// refuses the change (fail closed).
func (s *Session) notSiteAdmin(addr string) *webrpc.Response {
	if s.Role == proto.RoleSite {
		return nil
	}
	name := filepath.Join(s.Root, "control", control.WebAdmins.Name)
	data, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return webrpc.Errorf(webrpc.Failed, "%s cannot be read (%v): nothing changed", name, err)
	}
	local, domain, _ := strings.Cut(addr, "@")
	canon, err := s.canonicalDomain(domain)
	if err != nil {
		return failure(err)
	}
	for _, login := range control.Texts(control.Items(data)) {
		l, d, ok := strings.Cut(login, "@")
		if !ok || !strings.EqualFold(l, local) {
			continue
		}
		// A login at an alias domain is the same account (goqmail-auth
		// canonicalizes it), so compare the real domains.
		cd, err := s.canonicalDomain(d)
		if err != nil {
			return failure(err)
		}
		if cd == canon {
			return webrpc.Errorf(webrpc.Forbidden, "%s is a site administrator's account (control/webadmins): only a site administrator may change it", addr)
		}
	}
	return nil
}

// canonicalDomain is the real domain of name (the one it is an alias of),
// lower case.
func (s *Session) canonicalDomain(name string) (string, error) {
	name = strings.ToLower(name)
	d, err := s.Open()
	if err != nil {
		return "", err
	}
	dom, ok, err := d.Domain(name)
	if err != nil {
		return "", err
	}
	if ok && dom.AliasOf != "" {
		return strings.ToLower(dom.AliasOf), nil
	}
	return name, nil
}
