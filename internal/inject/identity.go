package inject

import "strings"

// Identity is who a message is from when neither its header nor -f says:
// the From added to a message without one and the default envelope sender.
type Identity struct {
	User       string // local part of From
	Host       string // host of From; "" = defaulthost
	FullName   string // display name of From; "" = none
	SenderUser string // local part of the default envelope sender
	SenderHost string // its host; "" = defaulthost
}

// Account is the password entry of the real uid (getpwuid): the fallback
// user name and the GECOS full name.
type Account struct {
	Name  string
	Gecos string
}

// NewIdentity works out the identity as qmail-inject does, from the
// environment first (a user may choose how they appear, as with any mail
// user agent; the queue records the real uid regardless):
//
//	user:        QMAILUSER, MAILUSER, USER, LOGNAME, the account name, "anonymous"
//	host:        QMAILHOST, MAILHOST, else defaulthost
//	full name:   -F, QMAILNAME, MAILNAME, NAME, the GECOS name
//	sender user: QMAILSUSER, else user
//	sender host: QMAILSHOST, else host
//
// Values holding control characters (or spaces, for user and host) are
// skipped as if unset, so the environment cannot add header lines.
func NewIdentity(getenv func(string) string, acct Account, fullNameFlag string) Identity {
	word := func(fallback string, names ...string) string {
		for _, n := range names {
			if v := getenv(n); isWord(v) {
				return v
			}
		}
		return fallback
	}
	var id Identity
	account := ""
	if isWord(acct.Name) {
		account = acct.Name
	}
	id.User = word(account, "QMAILUSER", "MAILUSER", "USER", "LOGNAME")
	if id.User == "" {
		id.User = "anonymous"
	}
	id.Host = word("", "QMAILHOST", "MAILHOST")
	id.SenderUser = word(id.User, "QMAILSUSER")
	id.SenderHost = word(id.Host, "QMAILSHOST")
	id.FullName = cleanName(fullNameFlag)
	for _, n := range []string{"QMAILNAME", "MAILNAME", "NAME"} {
		if id.FullName != "" {
			break
		}
		id.FullName = cleanName(getenv(n))
	}
	if id.FullName == "" {
		id.FullName = cleanName(gecosName(acct.Gecos, acct.Name))
	}
	return id
}

// isWord accepts a non-empty value of printable ASCII without spaces.
func isWord(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// cleanName turns control characters into spaces and trims the result.
func cleanName(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s))
}

// gecosName is the full name in a GECOS field: the part before the first
// comma, with '&' standing for the capitalised login name (passwd(5)).
func gecosName(gecos, login string) string {
	name, _, _ := strings.Cut(gecos, ",")
	if strings.Contains(name, "&") && login != "" {
		name = strings.ReplaceAll(name, "&", strings.ToUpper(login[:1])+login[1:])
	}
	return name
}
