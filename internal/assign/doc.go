// Package assign maps the local part of a local recipient to the Unix account
// that receives it, the way qmail-lspawn does (qmail-lspawn.c nughde_get):
// first the administrator's table users/assign (qmail-users(5)), then the
// passwd rules of qmail-getpw.
//
// goqmail's local spawner runs as root and hands every delivery to the uid
// this package returns, so the package is strict where qmail was lenient:
// a users/assign line qmail-newu would have half-understood is an error here,
// and a failure that might go away (an unreadable passwd file, a home
// directory that cannot be stat'ed right now) is an error the caller turns
// into a deferral instead of a bounce (reference §8 item 12: getpwnam
// failures made qmail bounce mail during NIS/NFS outages).
//
// qmail compiled users/assign into users/cdb with qmail-newu; goqmail reads
// users/assign itself (File reparses it when it changes), so there is no
// separate compile step to forget.
//
// All system access goes through the System interface, so the rules can be
// tested without root and without real accounts.
//
// Case: local parts are compared after ASCII lower-casing only (qmail's
// case_lowerb). Unicode case folding is deliberately not used: strings.ToLower
// maps U+212A KELVIN SIGN to "k", which would let a non-ASCII local part reach
// an ASCII account. The extension handed to the local delivery keeps the case
// of the address, as qmail-lspawn and qmail-getpw keep it; qmail-local
// lower-cases it (and maps '.' to ':') only when it builds the .qmail file
// name, and passes it unchanged in $EXT.
package assign
