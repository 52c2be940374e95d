package webmbox

import (
	"goqmail/internal/webrpc"
)

func init() {
	register(OpDraft, (*Session).draft)
}

// draft stores the message being written in Drafts with the flags D
// (draft) and S, replacing the draft draftid: the new version is stored
// first and the old one removed after, so a crash between leaves two
// drafts, never none. Recipients need not be complete yet; what the user
// typed is kept, Bcc included (a draft is never sent as it is).
func (s *Session) draft(req *webrpc.Request) *webrpc.Response {
	c, err := s.parseCompose(req, true)
	if err != nil {
		return composeError(err)
	}
	raw, err := s.compose(c, true)
	if err != nil {
		return composeError(err)
	}
	if err := s.ensureSpecialFolder(sendDraftsFolder); err != nil {
		return storeError(err)
	}
	id, err := s.Store.Append(sendDraftsFolder, raw, "DS")
	if err != nil {
		return storeError(err)
	}
	if c.draftID != "" && c.draftID != id {
		if err := s.removeDraft(c.draftID); err != nil {
			s.Log.Printf("warning: webmail %s: old draft %s: %v", s.Login, c.draftID, err)
			return &webrpc.Response{Rows: [][]string{{id}}, Text: "Draft saved, but the previous version was not removed: " + err.Error()}
		}
	}
	return &webrpc.Response{Rows: [][]string{{id}}, Text: "Draft saved."}
}
