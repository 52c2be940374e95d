package authd

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"

	"goqmail/internal/proto"
	"goqmail/internal/vdir"
)

// Web logins (issue 15, docs/web.md "Logins, roles and the admin
// session"). goqmail-web sends OpenWeb; a right password starts the
// mailbox session (goqmail-webmbox -session MAILDIR as the mailbox owner,
// as POP3 sessions start) and, for a login with an admin role, the admin
// session (`goqmail admin-session`, as root), and the front gets one end
// of each. The login is slowed and counted with SMTP AUTH and POP3 under
// the service name "web"; it grants no POP-before-SMTP relaying.

// textNoPasswd refuses ChangePassword for users whose password is not in
// the virtual directory: goqmail does not write /etc/shadow.
const textNoPasswd = "only virtual users can change their password here; system users: use passwd on the server"

// openWeb answers OpenWeb. A login that is right but whose sessions cannot
// start is a temporary failure (nothing counted against the password).
func (s *Server) openWeb(ctx context.Context, m proto.OpenWeb) (proto.WebVerified, []*os.File) {
	ans, id := s.login(ctx, proto.ServiceWeb, m.RemoteIP, credential{login: m.Login, password: m.Password})
	if !ans.OK {
		return proto.WebVerified{Verified: ans}, nil
	}
	temp := proto.WebVerified{Verified: proto.Verified{Temporary: true, Text: textTemp}}
	if id.mbox == nil {
		s.cfg.Log.Printf("warning: web login %s: checkpassword accepted it but no virtual or system account of that name has a mailbox", id.user)
		return temp, nil
	}
	mb, err := s.startWebSession(id)
	if err != nil {
		s.cfg.Log.Printf("warning: web login %s: %v", id.user, err)
		return temp, nil
	}
	files := []*os.File{mb}
	out := proto.WebVerified{Verified: ans}
	out.Role, out.Domain = s.role(id)
	if out.Role != proto.RoleNone {
		adm, err := s.startAdminSession(id.user, out.Role, out.Domain)
		if err != nil {
			mb.Close() // the mailbox session sees EOF and exits
			s.cfg.Log.Printf("warning: web login %s: %v", id.user, err)
			return temp, nil
		}
		files = append(files, adm)
		s.cfg.Log.Printf("web admin session for %s started: role %s %s", id.user, out.Role, out.Domain)
	}
	s.cfg.Log.Printf("web session for %s started on %s", id.user, id.mbox.maildir)
	return out, files
}

// role decides the web role of a logged-in user: site when the login is
// listed in control/webadmins; domain when it is postmaster@D of a virtual
// domain D (qmailadmin's rule; an alias domain's postmaster logs in as its
// real domain's, since the directory canonicalizes the login); else none.
func (s *Server) role(id *identity) (role, domain string) {
	for _, a := range s.settings.Load().WebAdmins {
		if strings.EqualFold(a, id.user) {
			return proto.RoleSite, ""
		}
	}
	if id.kind == proto.KindVirtual {
		if local, d, ok := splitLogin(id.user); ok && strings.EqualFold(local, "postmaster") {
			return proto.RoleDomain, d
		}
	}
	return proto.RoleNone, ""
}

// startWebSession starts the mailbox session with the environment
// cmd/goqmail-webmbox documents.
func (s *Server) startWebSession(id *identity) (*os.File, error) {
	mb := *id.mbox
	addr := id.user
	if id.kind != proto.KindVirtual && len(id.owns) > 0 {
		addr = id.owns[0] // a system user's first user@local domain
	}
	var owns []string
	for _, o := range id.owns {
		if !strings.Contains(o, ",") { // the list is comma-separated
			owns = append(owns, o)
		}
	}
	env := []string{
		"PATH=/usr/bin:/bin", "USER=" + mb.user, "HOME=" + mb.home,
		"GOQMAIL_ROOT=" + s.cfg.Root,
		"GOQMAIL_WEB_LOGIN=" + id.user,
		"GOQMAIL_WEB_ADDRESS=" + addr,
		"GOQMAIL_WEB_KIND=" + id.kind,
		"GOQMAIL_WEB_OWNS=" + strings.Join(owns, ","),
	}
	return s.startAs(mb, "web mailbox session", s.cfg.WebSessionProgram, []string{"-session", mb.maildir}, env)
}

// startAdminSession starts `goqmail admin-session` as root (the service's
// own uid without root: single-user mode). Its role comes from here, on
// its command line, never from the front.
func (s *Server) startAdminSession(login, role, domain string) (*os.File, error) {
	args := []string{"admin-session", "-root", s.cfg.Root, "-role", role}
	if domain != "" {
		args = append(args, "-domain", domain)
	}
	args = append(args, "-login", login)
	var cred *syscall.Credential // the service's own uid: root, or the invoking user
	return s.spawn("web admin session for "+login, s.cfg.AdminProgram, args, []string{"PATH=/usr/bin:/bin"}, cred)
}

// changePassword answers ChangePassword: the old password is checked like
// a web login (same slowing and counting), then the new hash is written
// through the virtual directory, as `goqmail user passwd` does.
func (s *Server) changePassword(ctx context.Context, m proto.ChangePassword) proto.Verified {
	ans, id := s.login(ctx, proto.ServiceWeb, m.RemoteIP, credential{login: m.Login, password: m.Old})
	if !ans.OK {
		return ans
	}
	local, domain, _ := splitLogin(id.user)
	if id.kind != proto.KindVirtual || s.cfg.Dir == nil {
		s.cfg.Log.Printf("web password change for %s refused: %s user", id.user, id.kind)
		return proto.Verified{Text: textNoPasswd}
	}
	if err := s.cfg.Dir.SetPassword(local, domain, m.New); err != nil {
		if errors.Is(err, vdir.ErrInvalid) {
			return proto.Verified{Text: "new password refused: " + err.Error()}
		}
		s.cfg.Log.Printf("warning: web password change for %s: %v", id.user, err)
		return proto.Verified{Temporary: true, Text: textTemp}
	}
	s.cfg.Log.Printf("web password change for %s: done", id.user)
	return ans
}
