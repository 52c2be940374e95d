package authd

import (
	"context"
	"os"
	"strings"

	"goqmail/internal/proto"
	"goqmail/internal/vdir"
)

// openMailbox is a POP3 login that also starts the mailbox session. A
// login that succeeds but whose session cannot start is a temporary
// failure: the password was right, so nothing is counted against it.
func (s *Server) openMailbox(ctx context.Context, remoteIP string, cr credential) (proto.Verified, *os.File, error) {
	ans, id := s.login(ctx, proto.ServicePOP3, remoteIP, cr)
	if !ans.OK {
		return ans, nil, nil
	}
	if id.mbox == nil {
		s.cfg.Log.Printf("warning: pop3 login %s: checkpassword accepted it but no virtual or system account of that name has a mailbox", id.user)
		return proto.Verified{Temporary: true, Text: textTemp}, nil, nil
	}
	f, err := s.startSession(*id.mbox)
	if err != nil {
		s.cfg.Log.Printf("warning: pop3 login %s: %v", id.user, err)
		return proto.Verified{Temporary: true, Text: textTemp}, nil, nil
	}
	s.cfg.Log.Printf("pop3 session for %s started on %s", id.user, id.mbox.maildir)
	return ans, f, nil
}

// virtualOwns lists the envelope senders a virtual user may use: its own
// address, every alias of its domain whose targets all lead to it, and the
// same local parts in the domain's alias domains. A directory error gives
// a shorter list (the user's own address), never a longer one.
func (s *Server) virtualOwns(local, domain string) []string {
	self := local + "@" + domain
	locals := []string{local}
	aliases, err := s.cfg.Dir.Aliases(domain)
	if err != nil {
		s.cfg.Log.Printf("warning: aliases of %s: %v", domain, err)
	}
	for _, a := range aliases {
		if len(a.Targets) == 0 {
			continue
		}
		mine := true
		for _, t := range a.Targets {
			if !s.leadsTo(t, local, domain) {
				mine = false
				break
			}
		}
		if mine {
			locals = append(locals, strings.ToLower(a.Local))
		}
	}
	domains := []string{domain}
	if ds, err := s.cfg.Dir.Domains(); err == nil {
		for _, d := range ds {
			if strings.EqualFold(d.AliasOf, domain) {
				domains = append(domains, strings.ToLower(d.Name))
			}
		}
	}
	owns := []string{self}
	for _, d := range domains {
		for _, l := range locals {
			if a := l + "@" + d; a != self {
				owns = append(owns, a)
			}
		}
	}
	return owns
}

// leadsTo says whether alias target t delivers to local@domain's mailbox.
func (s *Server) leadsTo(t, local, domain string) bool {
	t = strings.ToLower(t)
	if t == local+"@"+domain {
		return true
	}
	tl, td, err := vdir.SplitAddress(t)
	if err != nil {
		return false
	}
	r, err := s.cfg.Dir.Resolve(tl, td)
	return err == nil && r.Kind == vdir.Mailbox && r.Local == local && r.Domain == domain
}
