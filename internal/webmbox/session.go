// Package webmbox is the webmail's mailbox session (goqmail-webmbox): it
// runs as the mailbox owner, started by goqmail-auth after a web login,
// and answers the web front's requests (internal/webrpc, ops.go) on one
// Maildir. Hostile content is parsed and sanitized here, under the
// mailbox owner's uid, never in the front: a parser bug reaches one
// user's mail, not every logged-in user's session.
package webmbox

import (
	"errors"
	"fmt"
	"runtime/debug"
	"sort"

	"goqmail/internal/logline"
	"goqmail/internal/mailstore"
	"goqmail/internal/webrpc"
)

// Session is one logged-in user's mailbox.
type Session struct {
	Store   *mailstore.Store
	Login   string   // as goqmail-auth canonicalized it ("bob@example.com" or "bob")
	Address string   // the user's own address
	Owns    []string // addresses the user may send from (goqmail-auth's list)
	Kind    string   // "virtual" or "system"
	Home    string   // the user's home (system) or directory (virtual)
	Root    string   // goqmail's ROOT: control/, run/submit.sock
	Log     *logline.Logger
}

type opFunc func(s *Session, req *webrpc.Request) *webrpc.Response

var ops = map[string]opFunc{}

// register adds an operation; each op file registers its own in init.
func register(name string, f opFunc) {
	if _, dup := ops[name]; dup {
		panic("webmbox: operation registered twice: " + name)
	}
	ops[name] = f
}

// Ops lists the registered operations (for tests and docs).
func Ops() []string {
	var out []string
	for k := range ops {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Handle answers one request. A panic in an operation is answered as a
// failure and logged; the session goes on (the next request may be fine).
func (s *Session) Handle(req *webrpc.Request) (resp *webrpc.Response) {
	f, ok := ops[req.Op]
	if !ok {
		return webrpc.Errorf(webrpc.Invalid, "unknown operation %q", req.Op)
	}
	defer func() {
		if p := recover(); p != nil {
			s.Log.Printf("warning: webmail %s of %s: panic: %v\n%s", req.Op, s.Login, p, debug.Stack())
			resp = webrpc.Errorf(webrpc.Failed, "internal error in %s", req.Op)
		}
	}()
	return f(s, req)
}

// storeError maps a mailstore error to a response.
func storeError(err error) *webrpc.Response {
	switch {
	case errors.Is(err, mailstore.ErrNotFound):
		return webrpc.Errorf(webrpc.NotFound, "%v", err)
	case errors.Is(err, mailstore.ErrInvalid):
		return webrpc.Errorf(webrpc.Invalid, "%v", err)
	case errors.Is(err, mailstore.ErrExists):
		return webrpc.Errorf(webrpc.Conflict, "%v", err)
	}
	return webrpc.Errorf(webrpc.Failed, "%v", fmt.Errorf("mailbox: %w", err))
}
