package webmbox

import (
	"strings"

	"goqmail/internal/webrpc"
)

// The message operations of ops.go that change where a message is or its
// flags: flags, move, delete (internal/mailstore; all durable).

// userFlags are the Maildir flags the front may change: S seen, R
// answered (replied), F flagged, T deleted (trashed), as Dovecot maps
// IMAP's \Seen \Answered \Flagged \Deleted. D (draft) is set by the
// session's own draft operation only.
const userFlags = "SRFT"

func init() {
	register(OpFlags, (*Session).flags)
	register(OpMove, (*Session).move)
	register(OpDelete, (*Session).deleteMessage)
}

func (s *Session) flags(req *webrpc.Request) *webrpc.Response {
	change := req.Arg(2)
	if len(change) < 2 || (change[0] != '+' && change[0] != '-') {
		return webrpc.Errorf(webrpc.Invalid, "flag change %q: want + or - and flag letters (S, R, F, T)", change)
	}
	letters := change[1:]
	for _, c := range letters {
		if !strings.ContainsRune(userFlags, c) {
			return webrpc.Errorf(webrpc.Invalid, "flag %q: want S (seen), R (answered), F (flagged) or T (deleted)", c)
		}
	}
	add, remove := letters, ""
	if change[0] == '-' {
		add, remove = "", letters
	}
	if err := s.Store.SetFlags(req.Arg(0), req.Arg(1), add, remove); err != nil {
		return storeError(err)
	}
	return &webrpc.Response{}
}

func (s *Session) move(req *webrpc.Request) *webrpc.Response {
	id, err := s.Store.Move(req.Arg(0), req.Arg(1), req.Arg(2))
	if err != nil {
		return storeError(err)
	}
	return &webrpc.Response{Rows: [][]string{{id}}}
}

func (s *Session) deleteMessage(req *webrpc.Request) *webrpc.Response {
	if err := s.Store.Delete(req.Arg(0), req.Arg(1)); err != nil {
		return storeError(err)
	}
	return &webrpc.Response{}
}
