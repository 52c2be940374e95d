// Package migrate is `goqmail import`: it reads an existing qmail
// installation (control/, users/assign) and a vpopmail tree (domains with
// their vpasswd files, .qmail-* files and Maildirs; qmail.md section 7)
// and sets up the same in goqmail: control files, users/assign, and,
// through the virtual directory (internal/vdir), the same domains, alias
// domains, users with their password hashes and quotas, aliases,
// catch-alls, per-address instruction files and mailboxes.
//
// What it cannot carry over is listed, never silently dropped: passwords
// in a scheme goqmail cannot verify (DES crypt without a clear-text copy),
// control files goqmail has no setting for, .qmail lines that still name
// the old tree, vpopmail's per-user flags. Nothing that exists in the new
// installation is changed, so the import can run again, to pick up mail
// that reached the old mailboxes meanwhile, right before the switch.
package migrate
