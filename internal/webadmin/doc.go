// Package webadmin is the web administration's session (`goqmail
// admin-session`): it runs as root, started by goqmail-auth for a login
// with an admin role, and carries out the front's requests (ops.go) with
// the same code as the goqmail domain/user/alias/queue/relay commands
// (internal/admin, internal/vdir), after checking each against the role
// goqmail-auth gave it.
package webadmin
