package rcptcheck

// maxCached bounds a Session's cache: enough for a message to the default
// 100 recipients (control/maxrcpt) and a client that repeats some; a
// client that tries more only costs lookups, not memory.
const maxCached = 128

// Session is a Checker with a small cache for one SMTP session: a client
// that names the same recipient again (for each message of a batch, or
// twice in one) costs one lookup. Temporary failures are not cached, so a
// retry in the same session looks again. A Session is used by one
// goroutine at a time; it lives as long as the SMTP session, so an edit
// of users/assign or the directory is seen by the next session.
type Session struct {
	c     *Checker
	cache map[string]Result
}

// Session starts a session's cache over c.
func (c *Checker) Session() *Session {
	return &Session{c: c}
}

// Check is Checker.Check through the session's cache.
func (s *Session) Check(rcpt string) Result {
	if r, ok := s.cache[rcpt]; ok {
		return r
	}
	r := s.c.Check(rcpt)
	if r.Verdict != TempFail && len(s.cache) < maxCached {
		if s.cache == nil {
			s.cache = make(map[string]Result)
		}
		s.cache[rcpt] = r
	}
	return r
}
