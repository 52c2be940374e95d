package policy

// Existence is what the recipient check (internal/rcptcheck) found out
// about one recipient that passed the relay decision.
type Existence int

const (
	// RcptNotChecked: not a local or virtual address (the relay rules
	// decided), <postmaster> without a domain, or a check that could not
	// look (permission denied to the SMTP server's account).
	RcptNotChecked Existence = iota
	// RcptExists: a delivery would find a mailbox, file, alias or catch-all.
	RcptExists
	// RcptUnknown: no delivery could succeed.
	RcptUnknown
	// RcptLookupFailed: a lookup failed; nobody knows yet.
	RcptLookupFailed
)

// ExistenceFacts is what the existence decision depends on.
type ExistenceFacts struct {
	Existence Existence
	// UnknownBefore counts the unknown recipients this session tried
	// before this one, over all its transactions: a directory harvest
	// spreads its guesses over several messages.
	UnknownBefore int
	// RelayClient: the client's IP has RELAYCLIENT in tcp.smtp (or it is
	// a local `sendmail -bs`): our own users are not harvesting.
	RelayClient bool
}

// ExistenceConfig is the snapshot the decision reads.
type ExistenceConfig struct {
	// MaxUnknown is control/maxunknownrcpt: unknown recipients a session
	// may try; 0 or less means no limit.
	MaxUnknown int
}

// RcptAction is what the SMTP server does with the recipient.
type RcptAction int

const (
	RcptAccept        RcptAction = iota // 250: take it
	RcptRefuseUnknown                   // 550 5.1.1: no such user here
	RcptDefer                           // 451 4.3.0: try again later
	RcptDropHarvester                   // 421 4.7.0: too many unknown recipients; end the session
)

var rcptActionNames = [...]string{"accept", "refuse unknown", "defer", "drop harvester"}

func (a RcptAction) String() string {
	if a < 0 || int(a) >= len(rcptActionNames) {
		return "unknown action"
	}
	return rcptActionNames[a]
}

// CheckExistence decides a recipient by whether it exists, so that mail
// for nobody is refused in the SMTP dialog and never becomes a bounce to a
// forged sender (backscatter). An unknown recipient is refused; past
// MaxUnknown of them in one session the client is taken for a directory
// harvester (RCPT answers tell mailboxes apart as VRFY would, the concern
// of RFC 5321 7.3) and the session ends. A failed lookup is never a refusal and never a silent
// accept: the client retries later.
func CheckExistence(f ExistenceFacts, c ExistenceConfig) RcptAction {
	switch f.Existence {
	case RcptExists, RcptNotChecked:
		return RcptAccept
	case RcptLookupFailed:
		return RcptDefer
	}
	if !f.RelayClient && c.MaxUnknown > 0 && f.UnknownBefore+1 > c.MaxUnknown {
		return RcptDropHarvester
	}
	return RcptRefuseUnknown
}
