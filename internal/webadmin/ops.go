package webadmin

// The admin session's operations: the contract between goqmail-web (the
// front, internal/web) and `goqmail admin-session` (this package), which
// goqmail-auth starts for a login that has an admin role. Arguments and
// rows as in internal/webmbox/ops.go (positional args, "0"/"1" booleans,
// Unix seconds). Every operation checks the session's role itself: the
// front only hides what a role cannot use; it is not trusted to.
//
// Roles (decided by goqmail-auth at login, passed to the session on its
// command line, never by the front):
//   - site: a login listed in control/webadmins: everything.
//   - domain: postmaster@D of a virtual domain D (qmailadmin's rule): the
//     users, aliases, catch-all and quotas of D and of D's alias domains;
//     nothing else (no other domain, no queue, no grants, no logs).
const (
	// whoami → rows [[role ("site"|"domain"), domain ("" for site), login]]
	OpWhoami = "whoami"

	// domains → [name, alias_of, users, aliases, catchall, default quota bytes]
	// (a domain admin sees only its domain and its alias domains)
	OpDomains = "domains"
	// domain.add [name, alias_of ("" = a real domain), quota bytes ("" = none)] (site)
	OpDomainAdd = "domain.add"
	// domain.delete [name] (site)
	OpDomainDelete = "domain.delete"
	// domain.set [name, catchall ("bounce"|"reject"|"mailbox:LOCAL"|"forward:ADDRS"), quota bytes, postmaster]:
	// an empty catchall or quota is left as it is; postmaster is set when
	// given at all ("" = the user postmaster, else the catch-all)
	OpDomainSet = "domain.set"

	// users [domain] → [address, quota bytes, quota messages, used bytes, used messages]
	OpUsers = "users"
	// user.add [address, password, quota bytes ("" = domain default), quota messages]
	OpUserAdd = "user.add"
	// user.delete [address]
	OpUserDelete = "user.delete"
	// user.password [address, password]
	OpUserPassword = "user.password"
	// user.quota [address, quota bytes, quota messages]
	OpUserQuota = "user.quota"

	// aliases [domain] → [address, targets (comma-separated)]
	OpAliases = "aliases"
	// alias.set [address, targets (comma-separated)]: creates or replaces
	OpAliasSet = "alias.set"
	// alias.delete [address]
	OpAliasDelete = "alias.delete"

	// queue → [id, sender, recipients (comma), age seconds, size, state ("queued"|"held"), next attempt unix] (site)
	OpQueue = "queue"
	// queue.show [id] → Text: the message's envelope and header block (site)
	OpQueueShow = "queue.show"
	// queue.retry|queue.hold|queue.release [id] (site)
	// queue.delete [id, "bounce"|"silent"] (site): as `goqmail queue delete`,
	// the admin says whether the sender is told
	OpQueueRetry   = "queue.retry"
	OpQueueHold    = "queue.hold"
	OpQueueRelease = "queue.release"
	OpQueueDelete  = "queue.delete"

	// grants → [ip, expires unix] (POP-before-SMTP, site)
	OpGrants = "grants"
	// grant.delete [ip] (site)
	OpGrantDelete = "grant.delete"

	// dkim [domain] → [selector, dns name, dns record text, status] (site; domain admin for its own domain)
	OpDKIM = "dkim"
	// dns [domain] → [name, type, value, why] (the records `goqmail dns records` advises)
	OpDNS = "dns"

	// log [lines (default 200, at most 2000)] → [[line], ...]: the newest log lines (site)
	OpLog = "log"
	// health → `goqmail status`'s report: ["line", text] for each line it
	// prints, ["problem", text] for each problem, then ["queue", messages,
	// oldest age seconds] (site)
	OpHealth = "health"
)
