// Package control declares every goqmail setting once and reads qmail's
// control/ directory into an immutable snapshot.
//
// Each setting is one file in control/, with qmail's name, default and
// meaning where qmail has it (qmail-control(5) and the per-program man
// pages). The table below drives the code, `goqmail showctl` and
// docs/control.md; a test checks the document lists every entry.
package control

// Kind says how a control file is read.
type Kind int

const (
	// Line: the first line, trailing spaces and tabs removed (qmail control.c).
	Line Kind = iota
	// Number: the first line as a decimal number. A value that does not
	// parse or is out of range is an error (qmail's control_readint took
	// "10M" as 10 and garbage as the default).
	Number
	// List: one item per line; blank lines and lines starting with '#' are
	// skipped, trailing whitespace removed.
	List
	// File: a file read by its own parser (rules files); only its presence
	// is part of the snapshot.
	File
)

// Setting is the declaration of one control file.
type Setting struct {
	Name    string
	Kind    Kind
	Default string   // literal default ("" = empty / none)
	FromMe  bool     // the default is the value of me
	Min     int64    // Number: smallest accepted value
	Max     int64    // Number: largest accepted value (0: no maximum)
	Cap     bool     // Number: a value above Max is used as Max, with a warning (qmail caps concurrency), instead of refused
	Unit    string   // Number: what it counts ("bytes", "seconds"), for messages
	Example string   // Number: a sensible value to suggest in a message (else Default)
	Zero    string   // Number: what 0 means ("no limit"), for messages
	UsedBy  []string // programs that read it
	Meaning string
	Qmail   bool // qmail has this file with this meaning; false = new in goqmail

	// Check validates a Line setting's value, or each line of a List
	// setting; nil accepts anything. A failure is an error that names the
	// file and line: Load refuses the whole configuration.
	Check func(item string) error
	// Unique, for a List setting, returns the key two lines must not
	// share (a repeated key is an error: qmail silently took the first).
	Unique func(item string) string
	// Rule says in words what Check (or, for File settings, the parser in
	// internal/ctlcheck) accepts, for docs/control.md.
	Rule string
	// Restart: only read when goqmaild starts; a change under SIGHUP is
	// logged as needing a restart.
	Restart bool
}

var (
	Me = &Setting{Name: "me", Kind: Line, Qmail: true, UsedBy: []string{"all"}, Check: checkDomain, Rule: "a domain name (required)",
		Meaning: "fully qualified name of this host; the default for the other host-name files. Required: no program starts without it."}
	Locals = &Setting{Name: "locals", Kind: List, FromMe: true, Qmail: true, UsedBy: []string{"send"}, Check: checkLocalDomain, Rule: "each line a domain (exact; no `.suffix`) or an address literal `[192.0.2.1]`",
		Meaning: "domains whose recipients are delivered locally (exact match, case-insensitive). Reread on SIGHUP."}
	RcptHosts = &Setting{Name: "rcpthosts", Kind: List, Qmail: true, UsedBy: []string{"smtpd"}, Check: checkDomainOrSuffix, Rule: "each line `domain` or `.domain`",
		Meaning: "recipient domains accepted from any client: `host` matches exactly, `.host` any subdomain. Unlike qmail, a missing or empty rcpthosts accepts no recipient domain (never an open relay); relay clients from tcp.smtp are not limited by it."}
	LocalIPHost = &Setting{Name: "localiphost", Kind: Line, FromMe: true, Qmail: true, UsedBy: []string{"smtpd"}, Check: checkDomain, Rule: "a domain name",
		Meaning: "a recipient at an address literal of the local IP, box@[ip], is rewritten to box@localiphost before the rcpthosts check."}
	DataBytes = &Setting{Name: "databytes", Kind: Number, Default: "0", Min: 0, Qmail: true, UsedBy: []string{"smtpd"}, Unit: "bytes", Example: "10485760", Zero: "no limit",
		Meaning: "largest message accepted, in bytes as stored (LF line ends, before our Received line); 0 = no limit. Advertised with SIZE; larger messages get 552 5.3.4. DATABYTES in tcp.smtp overrides it per client."}
	TimeoutSMTPD = &Setting{Name: "timeoutsmtpd", Kind: Number, Default: "1200", Min: 1, Qmail: true, UsedBy: []string{"smtpd"}, Unit: "seconds",
		Meaning: "seconds to wait for the client to send (or accept) data before giving up with 421 4.4.2."}
	SMTPGreeting = &Setting{Name: "smtpgreeting", Kind: Line, FromMe: true, Qmail: true, UsedBy: []string{"smtpd"}, Check: checkText, Rule: "printable ASCII text, not empty",
		Meaning: "text after `220 ` in the greeting; the first word should be the host name. Also used in the EHLO/HELO and QUIT replies."}
	ConcurrencyLocal = &Setting{Name: "concurrencylocal", Kind: Number, Default: "10", Min: 0, Max: 1000, Qmail: true, UsedBy: []string{"send"}, Cap: true, Unit: "deliveries", Zero: "hold local deliveries",
		Meaning: "simultaneous local deliveries; 0 holds local deliveries. qmail caps it at 120 (conf-spawn), goqmail at 1000."}
	ConcurrencyRemote = &Setting{Name: "concurrencyremote", Kind: Number, Default: "20", Min: 0, Max: 1000, Qmail: true, UsedBy: []string{"send", "remote"}, Cap: true, Unit: "deliveries", Zero: "hold remote deliveries",
		Meaning: "simultaneous remote deliveries, and goqmail-remote's connections per destination address and port; 0 holds remote deliveries. qmail caps it at 120, goqmail at 1000."}
	QueueLifetime = &Setting{Name: "queuelifetime", Kind: Number, Default: "604800", Min: 0, Qmail: true, UsedBy: []string{"send"}, Unit: "seconds",
		Meaning: "seconds a message may stay in the queue; after that it gets one last try and temporary failures become permanent."}
	EnvNoAtHost = &Setting{Name: "envnoathost", Kind: Line, FromMe: true, Qmail: true, UsedBy: []string{"smtpd", "send"}, Check: checkDomain, Rule: "a domain name",
		Meaning: "domain added to a recipient address that has no @ (RCPT TO:<postmaster>)."}

	SMTPListen = &Setting{Name: "smtplisten", Kind: List, Default: ":25", UsedBy: []string{"supervisor"}, Check: checkListen, Restart: true, Rule: "each line `host:port` with a numeric port; at least one line",
		Meaning: "addresses the SMTP server listens on, one host:port per line (tcpserver's host and port arguments). Read at start only: the supervisor binds them before dropping privilege."}
	ConcurrencyIncoming = &Setting{Name: "concurrencyincoming", Kind: Number, Default: "1000", Min: 1, Max: 100000, UsedBy: []string{"smtpd"}, Unit: "sessions",
		Meaning: "simultaneous SMTP sessions on the smtplisten addresses (port 25; tcpserver -c); past it new connections get 421 4.3.2 and are closed. Submission (587, 465) has its own budget, concurrencysubmission. The default comes from a measurement (docs/limits.md). Reread on SIGHUP."}
	MaxRcpt = &Setting{Name: "maxrcpt", Kind: Number, Default: "100", Min: 1, Max: 100000, UsedBy: []string{"smtpd"}, Unit: "recipients",
		Meaning: "recipients per message; past it RCPT gets 452 4.5.3 and the recipients already accepted are kept (RFC 5321 4.5.3.1.8)."}
	MaxUnknownRcpt = &Setting{Name: "maxunknownrcpt", Kind: Number, Default: "5", Min: 1, Max: 100000, UsedBy: []string{"smtpd"}, Unit: "recipients",
		Meaning: "unknown local or virtual recipients (550 5.1.1) one SMTP session may try, over all its messages; the next one ends the session with 421 4.7.0 (directory harvest). Clients with RELAYCLIENT are exempt. Reread on SIGHUP."}
	TimeoutSMTPSession = &Setting{Name: "timeoutsmtpsession", Kind: Number, Default: "3600", Min: 1, UsedBy: []string{"smtpd"}, Unit: "seconds",
		Meaning: "seconds an SMTP session may last in all before it is ended with 421 4.4.2."}
	QueueMinFree = &Setting{Name: "queueminfree", Kind: Number, Default: "10485760", Min: 0, UsedBy: []string{"smtpd"}, Unit: "bytes", Example: "10485760", Zero: "check only SIZE",
		Meaning: "bytes that must stay free on the queue's file system: MAIL is answered 452 4.3.1 when less than this plus 1.5 times the client's SIZE is free (Postfix's queue_minfree and its 1.5 factor), so a full disk is reported before the message is sent, not after. A message that still meets a full disk gets 452 4.3.1 at its end. 0 checks only SIZE."}
	SMTPGreetDelay = &Setting{Name: "smtpgreetdelay", Kind: Number, Default: "0", Min: 0, Max: 300, UsedBy: []string{"smtpd"}, Unit: "seconds",
		Meaning: "seconds to wait before the greeting on the smtplisten addresses (port 25; postscreen's greet wait); a client that sends anything before it is dropped (554 5.5.1). Submission, RELAYCLIENT and POP-before-SMTP clients and partners with RBLSMTPD=\"\" in tcp.smtp are greeted at once. With 0 only clients whose bytes have already arrived when the greeting is written are caught."}
	SyncMode = &Setting{Name: "syncmode", Kind: Line, Default: "auto", UsedBy: []string{"queue", "local"}, Check: checkSyncMode, Restart: true, Rule: "`auto`, `journal`, `fsync` or `syncfs`",
		Meaning: "how a new queue or Maildir file is made durable before it is acknowledged. `journal` (the default; `auto` means it too): the queue appends each message (up to 256 kB) to a preallocated journal, `queue/journal/`, and one fdatasync(2) shared by every concurrent commit makes a group of them durable; the message's own file in `queue/msg/` is written without a sync, and recovery puts it back from the journal after a power loss. Larger messages, and Maildir deliveries, are fsynced on their own as in `fsync`. `fsync`: each queue file is fsynced before its rename into `msg/`, then `msg/` is fsynced (shared by concurrent commits). `syncfs`: the content is made durable with one syncfs(2) of the file system shared by every concurrent commit, then each file's own write-back error is checked with sync_file_range(2); it also writes every other program's dirty data on that file system, so use it only for a queue on a file system of its own (Linux 5.8 or newer). In every mode a name in `msg/` appears only once the content is on stable storage, in the journal or in the file itself. See docs/queue.md."}
	// Connection limits of smtpd, pop3d and the auth service (docs/limits.md).
	ConcurrencySubmission = &Setting{Name: "concurrencysubmission", Kind: Number, Default: "500", Min: 1, Max: 100000, UsedBy: []string{"smtpd"}, Unit: "sessions",
		Meaning: "simultaneous sessions on the submissionlisten and smtpslisten addresses together (587 and 465): a budget of their own, so no flood on port 25 can take a slot from a user who submits mail, and none on 587 or 465 one from port 25. Past it 421 4.3.2 (465: closed without a word, before TLS). Reread on SIGHUP."}
	ConcurrencyPerIP = &Setting{Name: "concurrencyperip", Kind: Number, Default: "20", Min: 0, Max: 100000, UsedBy: []string{"smtpd", "pop3d"}, Unit: "sessions", Zero: "no per-address limit",
		Meaning: "simultaneous sessions of one client address (an IPv4 address, an IPv6 /64) on each budget: port 25, submission (587 and 465), POP3 (110 and 995). Past it 421 4.7.0 (POP3: -ERR [SYS/TEMP]; 465 and 995: closed before TLS), logged once a minute per address. Clients with RELAYCLIENT in tcp.smtp are exempt on SMTP. 0 = no per-address limit. Reread on SIGHUP."}
	ConnectRatePerIP = &Setting{Name: "connectrateperip", Kind: Number, Default: "300", Min: 0, Max: 1000000, UsedBy: []string{"smtpd", "pop3d"}, Unit: "connections per minute", Zero: "no rate limit",
		Meaning: "connections one client address (IPv4 address, IPv6 /64) may make per minute to each budget, refused ones included (Postfix's smtpd_client_connection_rate_limit); past it 421 4.7.0 until its minute is over. Clients with RELAYCLIENT in tcp.smtp are exempt on SMTP. 0 = no rate limit. Reread on SIGHUP."}
	StressThreshold = &Setting{Name: "stressthreshold", Kind: Number, Default: "80", Min: 1, Max: 100, UsedBy: []string{"smtpd"}, Unit: "percent",
		Meaning: "percent of a budget (concurrencyincoming, concurrencysubmission) at which smtpd is under stress on it: its sessions then get timeoutsmtpdstress and timeoutsmtpsessionstress instead of the normal timeouts, until they fall below again (Postfix's stress mode). Reread on SIGHUP."}
	TimeoutSMTPDStress = &Setting{Name: "timeoutsmtpdstress", Kind: Number, Default: "10", Min: 1, UsedBy: []string{"smtpd"}, Unit: "seconds",
		Meaning: "under stress, seconds a client may take for each read, and for a whole command line however it dribbles it in (Postfix's smtpd_timeout and smtpd_per_record_deadline under stress); used when smaller than timeoutsmtpd. Then 421 4.4.2. Reread on SIGHUP."}
	TimeoutSMTPSessionStress = &Setting{Name: "timeoutsmtpsessionstress", Kind: Number, Default: "300", Min: 1, UsedBy: []string{"smtpd"}, Unit: "seconds",
		Meaning: "under stress, seconds an SMTP session may last in all (timeoutsmtpsession otherwise, when smaller); an older session ends at its next read with 421 4.4.2. Reread on SIGHUP."}
	ConcurrencyPOP3 = &Setting{Name: "concurrencypop3", Kind: Number, Default: "500", Min: 1, Max: 100000, UsedBy: []string{"pop3d"}, Unit: "sessions",
		Meaning: "simultaneous POP3 sessions on pop3listen and pop3slisten together, before and after login (each logged-in one is a process of its own, goqmail-pop3d -session); past it -ERR [SYS/TEMP] (995: closed before TLS). Reread on SIGHUP."}
	AuthConcurrency = &Setting{Name: "authconcurrency", Kind: Number, Default: "4", Min: 1, Max: 1000, UsedBy: []string{"auth"}, Unit: "verifications",
		Meaning: "password checks goqmail-auth runs at once (hashing is what costs CPU); more wait their turn in order of arrival, so a burst from many addresses delays logins by a queue, not by sharing the CPU among all of them. Reread on SIGHUP."}
	AuthConcurrencyPerIP = &Setting{Name: "authconcurrencyperip", Kind: Number, Default: "4", Min: 1, Max: 1000, UsedBy: []string{"auth"}, Unit: "logins",
		Meaning: "logins from one client address (IPv4 address, IPv6 /64; SMTP AUTH and POP3 together) goqmail-auth handles at once, the delay it adds to a failure included; one more is answered at once as a temporary failure (SMTP 454 4.7.0, POP3 -ERR [SYS/TEMP]) without checking its password. Reread on SIGHUP."}

	// Delivery and addressing (qmail-send, qmail-lspawn, qmail-local).
	PercentHack = &Setting{Name: "percenthack", Kind: List, Qmail: true, UsedBy: []string{"send"}, Check: checkDomain, Rule: "each line a domain name",
		Meaning: "domains for which `u%h@domain` is rewritten to `u@h`, repeatedly, before the locals check (the old sendmail source-routing hack). Reread on SIGHUP."}
	VirtualDomains = &Setting{Name: "virtualdomains", Kind: List, Qmail: true, UsedBy: []string{"send"}, Check: checkVirtualDomain, Unique: virtualDomainKey, Rule: "each line `key:prepend` with key `domain`, `.domain`, `user@domain` or empty, and a prepend without spaces, `@` or `:`; no key twice",
		Meaning: "`user@domain:prepend`, `domain:prepend`, `.suffix:prepend` or `:prepend` (catch-all): a recipient that matches (full address first, then domain, then the longest suffix, then the catch-all) and is not in locals is delivered locally as `prepend-localpart@domain`. An empty prepend means the domain is not virtual. Reread on SIGHUP."}
	DefaultDelivery = &Setting{Name: "defaultdelivery", Kind: List, Default: "./Maildir/", UsedBy: []string{"lspawn", "local"}, Rule: "each line a `.qmail` line (`./Maildir/`, `./Mailbox`, `|program`, `&address`), checked by the `.qmail` parser",
		Meaning: "what to do with mail for a user who has no .qmail file: .qmail lines, one per line (qmail-start's argument; Debian's qmail also reads control/defaultdelivery). `./Maildir/` delivers to ~/Maildir/, `./Mailbox` to an mbox."}
	AliasUser = &Setting{Name: "aliasuser", Kind: Line, Default: "alias", UsedBy: []string{"lspawn"}, Check: checkAccount, Rule: "an account name",
		Meaning: "account that receives mail for addresses nobody owns (qmail's alias user, ~alias/.qmail-postmaster and so on). root never receives mail directly: its mail goes here too."}
	Aliases = &Setting{Name: "aliases", Kind: Line, UsedBy: []string{"lspawn", "local"}, Check: checkAbsPath, Rule: "empty, or the absolute path of an existing aliases file whose lines parse",
		Meaning: "a sendmail-style aliases file (e.g. /etc/aliases) consulted for addresses that reach the alias user, before its .qmail files (qmail's fastforward, read directly: no newaliases step). Empty: none."}
	DotForward = &Setting{Name: "dotforward", Kind: Number, Default: "0", Min: 0, Max: 1, UsedBy: []string{"lspawn", "local"}, Unit: "",
		Meaning: "1: a user without a .qmail file who has ~/.forward gets it honoured, sendmail style (qmail's dot-forward). 0: ~/.forward is ignored."}
	BounceFrom = &Setting{Name: "bouncefrom", Kind: Line, Default: "MAILER-DAEMON", Qmail: true, UsedBy: []string{"queue"}, Check: checkLocalPart, Rule: "a local part (no `@`, no spaces)",
		Meaning: "local part of the From: of bounce messages."}
	BounceHost = &Setting{Name: "bouncehost", Kind: Line, FromMe: true, Qmail: true, UsedBy: []string{"queue"}, Check: checkDomain, Rule: "a domain name",
		Meaning: "host part of the From: of bounce messages, and the host named in their text."}
	DoubleBounceTo = &Setting{Name: "doublebounceto", Kind: Line, Default: "postmaster", Qmail: true, UsedBy: []string{"queue"}, Check: checkLocalPartOrEmpty, Rule: "a local part, or empty",
		Meaning: "local part of the address that receives double bounces (a bounce that could not be delivered). If the file exists and is empty, double bounces are discarded and logged."}
	DoubleBounceHost = &Setting{Name: "doublebouncehost", Kind: Line, FromMe: true, Qmail: true, UsedBy: []string{"queue"}, Check: checkDomain, Rule: "a domain name",
		Meaning: "host part of the double-bounce recipient."}
	BounceMaxBytes = &Setting{Name: "bouncemaxbytes", Kind: Number, Default: "51200", Min: 0, UsedBy: []string{"queue"}, Unit: "bytes", Zero: "always the whole message",
		Meaning: "largest copy of the original message attached to a bounce; a longer message is returned as its header only (text/rfc822-headers). 0 = always the whole message (qmail's behaviour)."}
	DefaultHost = &Setting{Name: "defaulthost", Kind: Line, FromMe: true, Qmail: true, UsedBy: []string{"sendmail"}, Check: checkDomain, Rule: "a domain name",
		Meaning: "host added to header and envelope addresses without one in locally injected mail (qmail-inject; env QMAILDEFAULTHOST)."}
	DefaultDomain = &Setting{Name: "defaultdomain", Kind: Line, FromMe: true, Qmail: true, UsedBy: []string{"sendmail"}, Check: checkDomain, Rule: "a domain name",
		Meaning: "domain appended to host names without a dot in locally injected mail (qmail-inject; env QMAILDEFAULTDOMAIN)."}
	IDHost = &Setting{Name: "idhost", Kind: Line, FromMe: true, Qmail: true, UsedBy: []string{"sendmail"}, Check: checkDomain, Rule: "a domain name",
		Meaning: "host part of the Message-ID added to locally injected mail (qmail-inject; env QMAILIDHOST)."}

	// Remote delivery (qmail-remote).
	HeloHost = &Setting{Name: "helohost", Kind: Line, FromMe: true, Qmail: true, UsedBy: []string{"remote"}, Check: checkDomain, Rule: "a domain name",
		Meaning: "name sent in EHLO/HELO."}
	SMTPRoutes = &Setting{Name: "smtproutes", Kind: File, Qmail: true, UsedBy: []string{"remote"}, Rule: "each line parses as a route (goqmail-remote's parser); no domain twice",
		Meaning: "static routes, one per line: `domain:relay[:port]`, `.suffix:relay`, `:relay` (smarthost for everything else); an empty relay means use MX; `[ip]` or `[IPv6:addr]` relays are addresses. goqmail adds optional credentials for a smarthost that needs AUTH: `domain:relay:port user password` (AUTH PLAIN, only over TLS). Only goqmail-remote reads it: with passwords in it, make it `chown root:goqmail; chmod 640`. Reread on SIGHUP."}
	TLSDestinations = &Setting{Name: "tlsdestinations", Kind: List, UsedBy: []string{"remote"}, Check: checkDomainOrSuffix, Rule: "each line `domain` or `.domain`",
		Meaning: "domains (`domain`, or `.suffix` for its subdomains) whose mail goes only over TLS with a certificate valid for the MX host name (verified against the system's roots); otherwise the delivery is deferred. Everything else gets opportunistic STARTTLS without verification, plain text if the peer offers none."}
	TimeoutConnect = &Setting{Name: "timeoutconnect", Kind: Number, Default: "60", Min: 1, Qmail: true, UsedBy: []string{"remote"}, Unit: "seconds",
		Meaning: "seconds to wait for a remote host to accept a connection."}
	TimeoutRemote = &Setting{Name: "timeoutremote", Kind: Number, Default: "1200", Min: 1, Qmail: true, UsedBy: []string{"remote"}, Unit: "seconds",
		Meaning: "seconds to wait for each remote response (and for each write to go through)."}

	// Outbound TLS policies (docs/outbound.md, issue 14).
	MTASTS = &Setting{Name: "mtasts", Kind: Number, Default: "1", Min: 0, Max: 1, UsedBy: []string{"remote"}, Unit: "",
		Meaning: "1 (default): look up recipient domains' MTA-STS policies (RFC 8461: the `_mta-sts` TXT record, then the policy over HTTPS, cached for its max_age in goqmail-remote's memory) and, for a policy in mode enforce, deliver only to the MX hosts it names over TLS with a valid certificate for the MX name, else defer; mode testing only logs and reports. 0: no MTA-STS. Reread on SIGHUP."}
	DANE = &Setting{Name: "dane", Kind: Number, Default: "0", Min: 0, Max: 1, UsedBy: []string{"remote"}, Unit: "",
		Meaning: "1: DANE for outbound mail (RFC 7672): TLSA records of MX hosts whose MX records validated decide the certificate (DANE-EE, DANE-TA), STARTTLS becomes mandatory for them, and a failure defers. It trusts the AD bit of the resolver in /etc/resolv.conf, which must be a DNSSEC-validating resolver on this host (unbound on 127.0.0.1), as Postfix, mox and maddy do. 0 (default): no DANE. Reread on SIGHUP."}
	TLSRPTFrom = &Setting{Name: "tlsrptfrom", Kind: Line, UsedBy: []string{"remote"}, Check: checkAddressOrEmpty, Rule: "empty, or an address local@domain",
		Meaning: "sender of the daily TLS reports (RFC 8460) goqmail-remote sends to the domains that ask for them with a `_smtp._tls` TXT record (`rua=mailto:`). Empty (default): no reports are sent (outcomes are still logged). Reread on SIGHUP."}

	// ACME and the HTTP(S) side of the certificate (docs/outbound.md, issue 14).
	ACMEDomains = &Setting{Name: "acmedomains", Kind: List, UsedBy: []string{"acme"}, Check: checkDomain, Rule: "each line a host name",
		Meaning: "names the ACME certificate is for (RFC 8555), the first one its subject: this host's MX name, and `mta-sts.DOMAIN` for each domain whose MTA-STS policy goqmail serves. Empty (default): no ACME, goqmail-acme only serves. Reread on SIGHUP."}
	ACMEDirectory = &Setting{Name: "acmedirectory", Kind: Line, Default: "https://acme-v02.api.letsencrypt.org/directory", UsedBy: []string{"acme"}, Check: checkHTTPSURL, Rule: "an https:// URL",
		Meaning: "the ACME server's directory URL. The default is Let's Encrypt; its staging server is https://acme-staging-v02.api.letsencrypt.org/directory. Reread on SIGHUP."}
	ACMEEmail = &Setting{Name: "acmeemail", Kind: Line, UsedBy: []string{"acme"}, Check: checkAddressOrEmpty, Rule: "empty, or an address local@domain",
		Meaning: "contact address given to the ACME server when the account is made (expiry warnings). Empty: none. Reread on SIGHUP."}
	ACMERenewDays = &Setting{Name: "acmerenewdays", Kind: Number, Default: "30", Min: 1, Max: 3650, UsedBy: []string{"acme"}, Unit: "days",
		Meaning: "a certificate is renewed when fewer than this many days of validity are left, or when acmedomains names a host it does not cover. Let's Encrypt's certificates last 90 days; 30 leaves a month of retries before expiry. Reread on SIGHUP."}
	ACMEHook = &Setting{Name: "acmehook", Kind: Line, UsedBy: []string{"acme"}, Check: checkCommandOrEmpty, Rule: "empty, or a command line starting with an absolute path",
		Meaning: "a command run (without a shell, split at spaces, as goqmail-acme's account) after a new certificate is in place, for programs that do not reread servercert.pem by themselves: `/usr/bin/sudo -n /usr/bin/doveadm reload` with a sudoers line for goqmaila. goqmail's own programs need no hook. Empty: none. Reread on SIGHUP."}
	ACMEListen = &Setting{Name: "acmelisten", Kind: List, UsedBy: []string{"supervisor"}, Check: checkListen, Restart: true, Rule: "each line `host:port`",
		Meaning: "addresses of the HTTP server for ACME's HTTP-01 challenges (RFC 8555 8.3), served by goqmail-acme under its own account: port 80 of the addresses acmedomains resolve to (`:80`). Empty (default): goqmail-acme is not started. Read at start only."}
	MTASTSListen = &Setting{Name: "mtastslisten", Kind: List, UsedBy: []string{"supervisor"}, Check: checkListen, Restart: true, Rule: "each line `host:port`",
		Meaning: "addresses of the HTTPS server (`:443`) that publishes this host's MTA-STS policy at https://mta-sts.DOMAIN/.well-known/mta-sts.txt (RFC 8461 3.3), served by goqmail-acme with servercert.pem, whose names must include mta-sts.DOMAIN (acmedomains). Empty (default): no policy is served. Read at start only."}
	MTASTSMode = &Setting{Name: "mtastsmode", Kind: Line, Default: "testing", UsedBy: []string{"acme"}, Check: checkMTASTSMode, Rule: "`enforce`, `testing` or `none`",
		Meaning: "the mode of the MTA-STS policy served on mtastslisten: `testing` (default) while you watch the TLS reports, then `enforce`; `none` withdraws it (keep serving it until the old max_age has passed). Reread on SIGHUP."}
	MTASTSMX = &Setting{Name: "mtastsmx", Kind: List, FromMe: true, UsedBy: []string{"acme"}, Check: checkDomainOrWildcard, Rule: "each line a host name or `*.domain`",
		Meaning: "the MX host names the served MTA-STS policy allows (`mx:` lines); every MX of your domains must match one, and have a certificate valid for its name. Default: me. Reread on SIGHUP."}
	MTASTSMaxAge = &Setting{Name: "mtastsmaxage", Kind: Number, Default: "604800", Min: 86400, Max: 31557600, UsedBy: []string{"acme"}, Unit: "seconds",
		Meaning: "max_age of the served policy: how long senders cache it (RFC 8461 3.2; one day at least, a year at most; weeks are usual). Reread on SIGHUP."}

	// Submission, TLS, POP3 and authentication (docs/auth.md).
	SubmissionListen = &Setting{Name: "submissionlisten", Kind: List, UsedBy: []string{"supervisor"}, Check: checkListen, Restart: true, Rule: "each line `host:port`; needs `servercert.pem` unless `authplaintext` is 1",
		Meaning: "addresses for mail submission (port 587, RFC 6409): STARTTLS, and AUTH required before MAIL. Empty: none. Read at start only."}
	SMTPSListen = &Setting{Name: "smtpslisten", Kind: List, UsedBy: []string{"supervisor"}, Check: checkListen, Restart: true, Rule: "each line `host:port`; needs `servercert.pem`",
		Meaning: "addresses for submission over implicit TLS (port 465, RFC 8314); AUTH as on 587. Needs servercert.pem. Empty: none. Read at start only."}
	POP3Listen = &Setting{Name: "pop3listen", Kind: List, UsedBy: []string{"supervisor"}, Check: checkListen, Restart: true, Rule: "each line `host:port`",
		Meaning: "addresses for POP3 (port 110) with STLS. Empty: no POP3. Read at start only."}
	POP3SListen = &Setting{Name: "pop3slisten", Kind: List, UsedBy: []string{"supervisor"}, Check: checkListen, Restart: true, Rule: "each line `host:port`; needs `servercert.pem`",
		Meaning: "addresses for POP3 over implicit TLS (port 995). Needs servercert.pem. Empty: none. Read at start only."}
	ServerCert = &Setting{Name: "servercert.pem", Kind: File, UsedBy: []string{"smtpd", "pop3d", "web"}, Rule: "if present: readable (as root: by the accounts of smtpd, pop3d and web), a private key and a matching certificate",
		Meaning: "the TLS private key and certificate chain, PEM, in one file (qmail's TLS patch). Without it there is no STARTTLS, 465 or 995. Reread when it changes: new certificates need no restart. Keep it 0640 root:goqmailnf."}
	AuthPlaintext = &Setting{Name: "authplaintext", Kind: Number, Default: "0", Min: 0, Max: 1, UsedBy: []string{"smtpd", "pop3d"}, Unit: "",
		Meaning: "1: passwords may be sent without TLS (SMTP AUTH on a plain connection, POP3 USER/PASS before STLS). 0 (default): only over TLS when TLS is configured."}
	AuthSenders = &Setting{Name: "authsenders", Kind: Number, Default: "1", Min: 0, Max: 1, UsedBy: []string{"smtpd"}, Unit: "",
		Meaning: "1 (default): an authenticated client may use only envelope senders its user owns (its address, aliases that resolve to it, user@locals for system users). 0: any sender."}
	RelayGrantLifetime = &Setting{Name: "relaygrantlifetime", Kind: Number, Default: "900", Min: 0, UsedBy: []string{"auth"}, Max: 604800, Unit: "seconds", Zero: "no grants",
		Meaning: "seconds a successful POP3 login lets the client's IP relay (POP-before-SMTP, as relay-ctrl); 0 disables grants. SMTP AUTH grants nothing: an authenticated session relays by itself."}
	// The web (issue 15, docs/web.md).
	WebListen = &Setting{Name: "weblisten", Kind: List, UsedBy: []string{"supervisor"}, Check: checkListen, Restart: true, Rule: "each line `host:port`; needs `servercert.pem`",
		Meaning: "addresses of the HTTPS server of the webmail and the web administration (goqmail-web, as goqmailw), with servercert.pem (the ACME certificate when goqmail-acme made one). Empty (default): no web. Read at start only."}
	WebAdmins = &Setting{Name: "webadmins", Kind: List, UsedBy: []string{"auth"}, Check: checkLogin, Rule: "each line a login: `user@domain` (virtual) or `user` (system)",
		Meaning: "logins that are site administrators in the web administration: every domain, the queue, the grants, the log. A virtual domain's postmaster@DOMAIN administers DOMAIN without being listed (qmailadmin's rule). Empty (default): no site administrator. Reread on SIGHUP."}
	CheckPassword = &Setting{Name: "checkpassword", Kind: Line, UsedBy: []string{"auth"}, Check: checkAbsPath, Rule: "empty, or the absolute path of an executable program",
		Meaning: "a checkpassword program (qmail's interface: fd 3 = login, password, timestamp, each NUL-terminated; exit 0 = ok) tried after virtual and system users. Empty: none."}
	// Per-destination delivery limits and the program timeout (issue 11,
	// item 3): one recipient or one domain must not hold every slot.
	ConcurrencyLocalRcpt = &Setting{Name: "concurrencylocalrcpt", Kind: Number, Default: "2", Min: 1, Max: 1000, UsedBy: []string{"send"}, Cap: true, Unit: "deliveries",
		Meaning: "simultaneous local deliveries to one recipient (Postfix's local_destination_concurrency_limit, default 2 there too): the routed address with ASCII case folded, as duplicates are merged (docs/delivery.md). More deliveries for that recipient wait in send without holding a concurrencylocal slot, so a recipient whose .qmail programs hang cannot stop everyone's mail. Reread on SIGHUP."}
	ConcurrencyRemoteDomain = &Setting{Name: "concurrencyremotedomain", Kind: Number, Default: "5", Min: 1, Max: 1000, UsedBy: []string{"send"}, Cap: true, Unit: "deliveries",
		Meaning: "simultaneous remote deliveries (SMTP transactions) to one recipient domain (Postfix's per-destination limit; 5 is its initial_destination_concurrency). More wait in send without holding a concurrencyremote slot, so one slow domain cannot hold every remote slot. Reread on SIGHUP."}
	TimeoutProgram = &Setting{Name: "timeoutprogram", Kind: Number, Default: "3600", Min: 1, Max: 604800, UsedBy: []string{"lspawn", "local"}, Unit: "seconds", Example: "600",
		Meaning: "seconds a .qmail program (|command) may run; then its process group is killed and the delivery deferred (qmail waited forever). Reread on SIGHUP; applies to deliveries that start afterwards."}

	// Logs (docs/logs.md, issue 16): where every program's lines go, and
	// for files multilog's s and n.
	LogDest = &Setting{Name: "logdest", Kind: Line, Default: "auto", UsedBy: []string{"supervisor"}, Check: checkLogDest, Restart: true,
		Rule:    "`auto`, `stderr`, `files`, `journal` or `syslog`; `files` needs the directory `log/` (made by `goqmail install`)",
		Meaning: "where the programs' log lines go. `stderr`: goqmaild's standard error, as they always did. `files`: `ROOT/log/current` with size-based rotation into files named by time, written by goqmail-log (multilog's way). `journal`: the systemd journal through its native protocol, one entry per line with the program as SYSLOG_IDENTIFIER, the priority, and the queue id as GOQMAIL_QUEUE_ID. `syslog`: /dev/log, facility mail, in the format syslog(3) writes. `auto` (the default): `journal` when goqmaild's standard error is the journal (systemd's JOURNAL_STREAM), else `stderr`. Read at start only."}
	LogSize = &Setting{Name: "logsize", Kind: Number, Default: "16777216", Min: 4096, Max: 1 << 30, UsedBy: []string{"log"}, Unit: "bytes", Example: "16777216",
		Meaning: "with logdest `files`: `log/current` is rotated before it would grow past this many bytes (multilog's s; 4096, a pipe's atomic write, at least). Reread on SIGHUP."}
	LogKeep = &Setting{Name: "logkeep", Kind: Number, Default: "10", Min: 1, Max: 10000, UsedBy: []string{"log"}, Unit: "files",
		Meaning: "with logdest `files`: how many rotated files are kept beside `current`; the oldest go first (multilog's n, less one). Reread on SIGHUP."}
	// Metrics (docs/metrics.md, issue 16).
	MetricsListen = &Setting{Name: "metricslisten", Kind: List, UsedBy: []string{"supervisor"}, Check: checkListen, Restart: true, Rule: "each line `host:port`",
		Meaning: "addresses of the Prometheus endpoint (HTTP, `/metrics`), served by goqmail-metrics under its own account. Empty (the default): no metrics, and goqmail-metrics is not started. Plain HTTP without authentication: give a loopback or management address (127.0.0.1:9465). Read at start only."}

	// Content authentication (docs/antispam.md, issue 13 items 3 and 4):
	// SPF at MAIL, DKIM and DMARC at the end of the data.
	SPFCheck = &Setting{Name: "spfcheck", Kind: Number, Default: "0", Min: 0, Max: 1, UsedBy: []string{"smtpd"}, Unit: "",
		Meaning: "1: check SPF (RFC 7208) for the HELO name and the MAIL FROM domain of every client that may not relay (no RELAYCLIENT, POP-before-SMTP grant or AUTH), at MAIL; the result goes into a `Received-SPF` field and the `Authentication-Results` field at the top of the message. 0 (default): no SPF. Reread on SIGHUP."}
	SPFReject = &Setting{Name: "spfreject", Kind: List, UsedBy: []string{"smtpd"}, Check: checkSPFReject, Rule: "each line `domain`, `.domain` or `*`; needs `spfcheck` 1",
		Meaning: "recipient domains that refuse mail whose sender SPF says `fail` (HELO or MAIL FROM): RCPT to them gets 550 5.7.23, and 451 4.4.3 while the SPF lookups fail (temperror). `domain` matches itself, `.domain` its subdomains, `*` every domain. postmaster is always reachable. Empty (default): SPF only marks the message. Reread on SIGHUP."}
	DKIMCheck = &Setting{Name: "dkimcheck", Kind: Number, Default: "0", Min: 0, Max: 1, UsedBy: []string{"smtpd"}, Unit: "",
		Meaning: "1: verify the DKIM signatures (RFC 6376, rsa-sha256 and ed25519-sha256) of mail from clients that may not relay, while it arrives; the results go into `Authentication-Results`. 0 (default): no DKIM. Reread on SIGHUP."}
	DMARCCheck = &Setting{Name: "dmarccheck", Kind: Number, Default: "0", Min: 0, Max: 1, UsedBy: []string{"smtpd"}, Unit: "",
		Meaning: "1: evaluate the From domain's DMARC policy (RFC 7489) on the SPF and DKIM results; needs `spfcheck` and `dkimcheck` 1. A failing message whose policy is `quarantine` (or `reject` without `dmarcreject`) is delivered to the recipients' Junk folder (Maildir `.Junk`). 0 (default): no DMARC. Reread on SIGHUP."}
	DMARCReject = &Setting{Name: "dmarcreject", Kind: Number, Default: "0", Min: 0, Max: 1, UsedBy: []string{"smtpd"}, Unit: "",
		Meaning: "1: a message failing DMARC whose domain's policy is `reject` is refused at the end of the data with 550 5.7.1 (451 4.4.3 while an aligned check failed for DNS reasons); needs `dmarccheck` 1. 0 (default): such a message goes to Junk instead. Reread on SIGHUP."}
	// Filter hooks of smtpd (docs/antispam.md, issue 13 item 6): a
	// QMAILQUEUE program, milters, qmail-spp plugins.
	QmailQueue = &Setting{Name: "qmailqueue", Kind: Line, UsedBy: []string{"smtpd"}, Check: checkAbsPath, Rule: "empty, or the absolute path of an executable program",
		Meaning: "a qmail-queue compatible program (qmail's QMAILQUEUE: simscan, qmail-scanner, a script) that smtpd runs, as its own account, for every message instead of submitting it itself: the message on descriptor 0 as it arrives (with smtpd's Received line and, at the top, the header lines checks add at the end of the data), the envelope on descriptor 1, qmail-queue's exit codes for the answer (notqmail's custom error on descriptor 6 too). The program ends by running goqmail's qmail-queue, named in $GOQMAIL_QMAILQUEUE. QMAILQUEUE in a tcp.smtp rule overrides it per client (an empty value: none). Only network sessions; sendmail and forwards go straight to the queue. Empty (the default): none. Reread on SIGHUP."}
	TimeoutQmailQueue = &Setting{Name: "timeoutqmailqueue", Kind: Number, Default: "600", Min: 1, Max: 86400, UsedBy: []string{"smtpd"}, Unit: "seconds",
		Meaning: "seconds the qmailqueue program may take to answer after the end of the data (and to take each piece of the message); then its process group is killed and the client gets 451 4.3.0 qq timeout. The default is RFC 5321's 10 minutes, the time a client waits for the reply to its final dot. Reread on SIGHUP."}
	Milters = &Setting{Name: "milters", Kind: File, UsedBy: []string{"smtpd"}, Rule: "each line `inet:HOST:PORT` or `unix:/PATH`, then optional `timeout=SECONDS` (1-3600) and `onfail=tempfail` or `onfail=accept`; no milter twice",
		Meaning: "milters (Sendmail's mail filter protocol, version 6: rspamd, opendkim, the milters of SpamAssassin and ClamAV) that see every message of the network sessions, in this order, at MAIL, RCPT and the end of the data, as Postfix's smtpd_milters: their verdicts reject or tempfail a command or the message, discard it, send it to the Junk folder (quarantine), and their added header lines go on top of the message. `timeout` bounds the connect and each answer (default 30); `onfail` is what a milter that is down, slow or broken means: `tempfail` (the default: 451 4.7.1, never a silent accept) or `accept` (go on without it). NOMILTER in a tcp.smtp rule turns them off for a client. Reread on SIGHUP."}
	SMTPPlugins = &Setting{Name: "smtpplugins", Kind: File, UsedBy: []string{"smtpd"}, Rule: "section lines `[connection]`, `[helo]`, `[mail]`, `[rcpt]` or `[data]`, each followed by plugins: the path (absolute, or relative to ROOT) of an executable file, or `:command` for /bin/sh -c",
		Meaning: "qmail-spp plugins (the file of the qmail-spp 0.42 patch): programs smtpd runs, as its own account, at the connection, HELO/EHLO, MAIL, RCPT and DATA, with the session in the environment (TCPREMOTEIP, SMTPHELOHOST, SMTPMAILFROM, SMTPRCPTTO, SMTPRCPTCOUNT, SMTPRCPTCOUNTALL, SMTPRCPTHOSTSOK, SMTPAUTHUSER, the tcp.smtp variables); each line they print can answer the command (E or R and an SMTP reply, A, N, O, D, H a header line, C a new address, S and U environment variables, LM, LR and LD delayed errors; docs/antispam.md). NOSPP in a tcp.smtp rule turns them off for a client, SPPCONFFILE names another file for it. Missing (the default): none. Reread on SIGHUP."}
	TimeoutPlugin = &Setting{Name: "timeoutplugin", Kind: Number, Default: "30", Min: 1, Max: 3600, UsedBy: []string{"smtpd"}, Unit: "seconds",
		Meaning: "seconds a qmail-spp plugin (smtpplugins) may run; then its process group is killed and the command gets 451 4.3.0 (qmail-spp waited forever). Reread on SIGHUP."}
	// Mail that other servers trust (docs/outbound.md, issue 14).
	DKIMKeys = &Setting{Name: "dkimkeys", Kind: List, UsedBy: []string{"dkimsign", "queue"}, Check: checkDKIMKey, Unique: dkimKeyDomain,
		Rule:    "each line `domain:selector`, the key in `dkim/domain/selector.key` (made by `goqmail dkim keygen`); no domain twice",
		Meaning: "the DKIM key each domain signs with (RFC 6376): mail whose From: is in the domain or below it, submitted by a trusted client (AUTH, RELAYCLIENT, POP-before-SMTP), by sendmail, or made by goqmail itself (forwards, bounces), leaves with a DKIM-Signature of that key. `goqmail dkim keygen` adds a domain's first key here, `goqmail dkim use` switches to another. Empty (the default): nothing is signed, and the queue never asks goqmail-dkimsign. Reread on SIGHUP."}
	SRSDomain = &Setting{Name: "srsdomain", Kind: Line, UsedBy: []string{"send", "smtpd"}, Check: checkDomainOrEmpty, Rule: "empty, or a domain name that is in `rcpthosts` and delivered here",
		Meaning: "the domain of SRS addresses (the Sender Rewriting Scheme, as postsrsd and the qmail SRS patches): mail goqmail forwards (.qmail, aliases, .forward, virtual aliases) for a sender outside its own domains leaves from `SRS0=hash=time=domain=local@srsdomain`, so the next hop's SPF check of srsdomain passes; bounces to such addresses go back to the original sender, and forged ones are refused at RCPT. Empty (the default): forwards keep the original sender, as qmail's do. Needs `srssecrets`. Reread on SIGHUP."}
	SRSSecrets = &Setting{Name: "srssecrets", Kind: File, UsedBy: []string{"send", "smtpd"}, Rule: "when `srsdomain` is set: readable by send and smtpd, one secret a line (at least 16 printable characters, no spaces), at least one line",
		Meaning: "the SRS secrets, one a line: the first makes new addresses, every line is accepted in bounces (rotation: `goqmail srs rotate` puts a new one first; drop an old one `srsmaxage` days later). Keep it 0640, owned by the send account, group goqmailnf (smtpd checks bounces). Reread on SIGHUP."}
	SRSMaxAge = &Setting{Name: "srsmaxage", Kind: Number, Default: "21", Min: 1, Max: 1000, UsedBy: []string{"send", "smtpd"}, Unit: "days",
		Meaning: "days an SRS address stays valid: a bounce to an older one is refused (libsrs2's default, 21, is used by postsrsd too). Reread on SIGHUP."}

	TCPRules = &Setting{Name: "tcp.smtp", Kind: File, UsedBy: []string{"smtpd"}, Rule: "tcprules(1) syntax, every line (rules that need DNS or ident are ignored with a warning)",
		Meaning: "access rules with tcprules(1) syntax (`127.:allow,RELAYCLIENT=\"\"`): which client IPs may connect, which may relay (RELAYCLIENT) and per-client DATABYTES. Read as text, no cdb step; reread on SIGHUP."}
)

// All lists every setting in the order showctl prints them.
var All = []*Setting{
	Me, Locals, RcptHosts, LocalIPHost, EnvNoAtHost, SMTPGreeting,
	DataBytes, QueueMinFree, TimeoutSMTPD, TimeoutSMTPSession, SMTPGreetDelay, MaxRcpt, MaxUnknownRcpt, ConcurrencyIncoming,
	ConcurrencyLocal, ConcurrencyRemote, QueueLifetime, SyncMode, SMTPListen, TCPRules,
	PercentHack, VirtualDomains, DefaultDelivery, AliasUser, Aliases, DotForward,
	BounceFrom, BounceHost, DoubleBounceTo, DoubleBounceHost, BounceMaxBytes,
	DefaultHost, DefaultDomain, IDHost,
	HeloHost, SMTPRoutes, TLSDestinations, TimeoutConnect, TimeoutRemote,
	SubmissionListen, SMTPSListen, POP3Listen, POP3SListen, ServerCert, AuthPlaintext, AuthSenders,
	RelayGrantLifetime, CheckPassword, WebListen, WebAdmins,
	ConcurrencyLocalRcpt, ConcurrencyRemoteDomain, TimeoutProgram,
	ConcurrencySubmission, ConcurrencyPerIP, ConnectRatePerIP, StressThreshold, TimeoutSMTPDStress, TimeoutSMTPSessionStress, ConcurrencyPOP3, AuthConcurrency, AuthConcurrencyPerIP,
	LogDest, LogSize, LogKeep, MetricsListen,
	SPFCheck, SPFReject, DKIMCheck, DMARCCheck, DMARCReject,
	// Checks before a recipient is accepted (antispam.go).
	DNSServers, DNSTimeout, DNSBL, DNSWL, DNSBLThreshold, RequireRDNS, BadHelo, BadMailFrom, BadRcptTo,
	RateWindow, MsgRatePerIP, RcptRatePerIP, MsgRatePerUser, RcptRatePerUser, GreylistDelay, GreylistAllow,
	QmailQueue, TimeoutQmailQueue, Milters, SMTPPlugins, TimeoutPlugin,
	DKIMKeys, SRSDomain, SRSSecrets, SRSMaxAge,
	MTASTS, DANE, TLSRPTFrom,
	ACMEDomains, ACMEDirectory, ACMEEmail, ACMERenewDays, ACMEHook, ACMEListen, MTASTSListen, MTASTSMode, MTASTSMX, MTASTSMaxAge,
}
