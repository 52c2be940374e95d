// Package vdir is goqmail's directory of virtual domains, users and aliases:
// vpopmail's job (qmail.md section 7) built in. Virtual users are not Unix
// accounts; their mailboxes all belong to one virtual uid, and their
// passwords live in a table Dovecot can read directly.
//
// Directory is the seam between the mail programs and the storage: Files
// (this package) keeps everything in plain files under ROOT/vdir; a
// PostgreSQL implementation can come later without touching the callers.
package vdir

import "errors"

// CatchKind says what a domain does with mail to a local part that is
// neither a user nor an alias.
type CatchKind int

const (
	CatchBounce  CatchKind = iota // refuse (550 5.1.1 at SMTP time): the default
	CatchReject                   // same answer as bounce, kept distinct for vpopmail's "delete"
	CatchMailbox                  // deliver to the mailbox of one user of the domain
	CatchForward                  // forward to one or more addresses
)

// Catchall is a domain's catch-all rule. Target is a local part for
// CatchMailbox and comma-separated addresses for CatchForward.
type Catchall struct {
	Kind   CatchKind
	Target string
}

// Domain is one served domain or alias domain.
type Domain struct {
	Name       string // lower case
	AliasOf    string // non-empty: an alias domain answering for AliasOf; nothing else is set
	Postmaster string // "" = the user "postmaster" if it exists, else the catch-all rules
	Catchall   Catchall
	Quota      int64 // default quota for new users, bytes (0 = none)
}

// User is one virtual mailbox owner.
type User struct {
	Local, Domain string
	Hash          string // Dovecot form "{BLF-CRYPT}$2y$10$..."; never logged
	QuotaBytes    int64  // 0 = unlimited
	QuotaMessages int64  // 0 = unlimited
}

// Alias forwards local@Domain to Targets (full addresses).
type Alias struct {
	Local, Domain string
	Targets       []string
}

// Kind is the answer of Resolve.
type Kind int

const (
	NoSuch  Kind = iota // no such address: 550 5.1.1 at SMTP time
	Mailbox             // deliver to the user's Maildir
	Forward             // forward to Targets
	Reject              // the catch-all refuses it
)

// Result is what to do with local@domain.
type Result struct {
	Kind          Kind
	Domain        string   // the real domain (after alias domains)
	Local         string   // Mailbox: the user's local part (lower case)
	Targets       []string // Forward: full addresses
	Quota         int64    // Mailbox: the user's limit in bytes (0 = unlimited)
	QuotaMessages int64    // Mailbox: the user's limit in messages (0 = unlimited)
	Why           string   // NoSuch/Reject: for logs
}

// Directory is the seam: a PostgreSQL implementation comes later. Every
// method is safe for concurrent use; an error means the directory could not
// be read or written (a temporary failure), never "no such thing", which is
// reported through the bool results, Result.Kind or ErrNotFound.
type Directory interface {
	IsDomain(name string) (bool, error) // a domain or alias domain we serve
	Domains() ([]Domain, error)
	Domain(name string) (Domain, bool, error)
	Resolve(local, domain string) (Result, error) // alias domain -> user -> alias -> postmaster -> catch-all; local parts case-insensitive
	User(local, domain string) (User, bool, error)
	Users(domain string) ([]User, error) // hashes included (admin use)
	Aliases(domain string) ([]Alias, error)
	Authenticate(login, password string) (User, bool, error) // login "local@domain"; same false for unknown user and wrong password
	AddDomain(d Domain) error
	SetDomain(d Domain) error
	DeleteDomain(name string) error
	AddUser(u User, password string) error // hashes with the default scheme (bcrypt, Dovecot BLF-CRYPT)
	AddUserHash(u User) error              // import: keep an existing hash (u.Hash, must be a scheme we verify)
	SetPassword(local, domain, password string) error
	SetQuota(local, domain string, bytes, messages int64) error
	DeleteUser(local, domain string) error
	SetAlias(a Alias) error
	DeleteAlias(local, domain string) error
}

// Errors every implementation returns (wrapped, with a message that says
// exactly what is wrong); test with errors.Is.
var (
	ErrExists   = errors.New("already exists")
	ErrNotFound = errors.New("not found")
	ErrInvalid  = errors.New("invalid")
)
