package webadmin

import (
	"errors"
	"fmt"
	"runtime/debug"
	"sort"
	"strings"

	"goqmail/internal/admin"
	"goqmail/internal/logline"
	"goqmail/internal/proto"
	"goqmail/internal/vdir"
	"goqmail/internal/webrpc"
)

// Session is one logged-in administrator's session. Role, Domain and
// Login come from goqmail-auth (the command line of `goqmail
// admin-session`), never from the front.
type Session struct {
	Root   string
	Role   string // proto.RoleSite or proto.RoleDomain
	Domain string // the domain of a RoleDomain session
	Login  string
	Log    *logline.Logger
	// Open opens the virtual directory (admin.OpenVirtual).
	Open func() (*vdir.Files, error)
	// Queue sends a command to goqmail-send (admin.QueueCommand).
	Queue func(root string, cmd proto.Admin) (string, error)
}

// New returns a session for root; it refuses a role it does not know.
func New(root, role, domain, login string, log *logline.Logger) (*Session, error) {
	switch {
	case role == proto.RoleSite && domain == "":
	case role == proto.RoleDomain && domain != "":
		d, err := vdir.CheckDomain(domain)
		if err != nil {
			return nil, err
		}
		domain = d
	default:
		return nil, fmt.Errorf("role %q with domain %q: want site (no domain) or domain with -domain D", role, domain)
	}
	return &Session{
		Root: root, Role: role, Domain: domain, Login: login, Log: log,
		Open:  func() (*vdir.Files, error) { return admin.OpenVirtual(root) },
		Queue: admin.QueueCommand,
	}, nil
}

// access is who may call an operation.
type access int

const (
	siteOnly   access = iota // a site admin only
	domainWide               // a domain admin too, within its domains (the op checks its arguments)
)

type op struct {
	access access
	fn     func(s *Session, req *webrpc.Request) *webrpc.Response
}

var ops = map[string]op{}

func register(name string, a access, fn func(s *Session, req *webrpc.Request) *webrpc.Response) {
	if _, dup := ops[name]; dup {
		panic("webadmin: operation registered twice: " + name)
	}
	ops[name] = op{a, fn}
}

// Ops lists the registered operations (tests, docs).
func Ops() []string {
	var out []string
	for k := range ops {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// SiteOnly says whether op is for a site admin only.
func SiteOnly(name string) bool { return ops[name].access == siteOnly }

func init() {
	register(OpWhoami, domainWide, func(s *Session, _ *webrpc.Request) *webrpc.Response {
		return &webrpc.Response{Rows: [][]string{{s.Role, s.Domain, s.Login}}}
	})
}

// Handle answers one request: the role first, then the operation. Every
// change is logged with who made it.
func (s *Session) Handle(req *webrpc.Request) (resp *webrpc.Response) {
	o, ok := ops[req.Op]
	if !ok {
		return webrpc.Errorf(webrpc.Invalid, "unknown operation %q", req.Op)
	}
	if o.access == siteOnly && s.Role != proto.RoleSite {
		return webrpc.Errorf(webrpc.Forbidden, "%s is for site administrators; %s administers %s only", req.Op, s.Login, s.Domain)
	}
	defer func() {
		if p := recover(); p != nil {
			s.Log.Printf("warning: web admin %s of %s: panic: %v\n%s", req.Op, s.Login, p, debug.Stack())
			resp = webrpc.Errorf(webrpc.Failed, "internal error in %s", req.Op)
		}
	}()
	resp = o.fn(s, req)
	if resp.Status == webrpc.OK && changes(req.Op) {
		s.Log.Printf("web admin %s (%s %s): %s %s", s.Login, s.Role, s.Domain, req.Op, logArgs(req))
	}
	return resp
}

// changes says whether op changes something (it is then logged).
func changes(op string) bool { return strings.Contains(op, ".") && op != OpQueueShow }

// logArgs is the request's arguments for the log, passwords left out.
func logArgs(req *webrpc.Request) string {
	args := append([]string(nil), req.Args...)
	if (req.Op == OpUserAdd || req.Op == OpUserPassword) && len(args) > 1 {
		args[1] = "(password)"
	}
	for i, a := range args {
		args[i] = proto.CleanText(a)
	}
	return strings.Join(args, " ")
}

// inScope says whether the session may touch domain: a site admin any, a
// domain admin its domain and the domains that are aliases of it.
func (s *Session) inScope(domain string) (bool, error) {
	if s.Role == proto.RoleSite {
		return true, nil
	}
	domain = strings.ToLower(domain)
	if domain == s.Domain {
		return true, nil
	}
	d, err := s.Open()
	if err != nil {
		return false, err
	}
	dom, ok, err := d.Domain(domain)
	if err != nil {
		return false, err
	}
	return ok && dom.AliasOf == s.Domain, nil
}

// checkDomain validates a domain argument and the session's right to it;
// a non-nil response is the refusal.
func (s *Session) checkDomain(arg string) (string, *webrpc.Response) {
	name, err := vdir.CheckDomain(arg)
	if err != nil {
		return "", webrpc.Errorf(webrpc.Invalid, "%v", err)
	}
	ok, err := s.inScope(name)
	if err != nil {
		return "", failure(err)
	}
	if !ok {
		return "", webrpc.Errorf(webrpc.Forbidden, "%s administers %s only, not %s", s.Login, s.Domain, name)
	}
	return name, nil
}

// checkAddress does the same for an address argument.
func (s *Session) checkAddress(arg string) (string, *webrpc.Response) {
	local, domain, err := vdir.SplitAddress(arg)
	if err != nil {
		return "", webrpc.Errorf(webrpc.Invalid, "%v", err)
	}
	if _, refused := s.checkDomain(domain); refused != nil {
		return "", refused
	}
	return local + "@" + domain, nil
}

// plain refuses an argument the command-line parser of internal/admin
// would take for an option.
func plain(what, v string) *webrpc.Response {
	if strings.HasPrefix(v, "-") {
		return webrpc.Errorf(webrpc.Invalid, "%s %q may not start with '-'", what, v)
	}
	return nil
}

// failure maps an error of internal/admin or internal/vdir to a response.
func failure(err error) *webrpc.Response {
	var u *admin.UsageError
	switch {
	case errors.Is(err, vdir.ErrNotFound):
		return webrpc.Errorf(webrpc.NotFound, "%v", err)
	case errors.Is(err, vdir.ErrExists):
		return webrpc.Errorf(webrpc.Conflict, "%v", err)
	case errors.Is(err, vdir.ErrInvalid), errors.As(err, &u):
		return webrpc.Errorf(webrpc.Invalid, "%v", err)
	}
	return webrpc.Errorf(webrpc.Failed, "%v", err)
}

// nargs refuses a request with fewer than min or more than max arguments.
func nargs(req *webrpc.Request, min, max int) *webrpc.Response {
	if n := len(req.Args); n < min || n > max {
		if min == max {
			return webrpc.Errorf(webrpc.Invalid, "%s takes %d arguments, got %d", req.Op, min, n)
		}
		return webrpc.Errorf(webrpc.Invalid, "%s takes %d to %d arguments, got %d", req.Op, min, max, n)
	}
	return nil
}
