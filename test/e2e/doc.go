// Package e2e holds goqmail's end-to-end tests: they start the real
// binaries (goqmaild and the programs it supervises) on a free loopback
// port and talk to them with real Debian clients: swaks and msmtp to send,
// mblaze (mlist, mshow, mhdr) to read the Maildir back.
//
// The programs come from the directory in GOQMAIL_BIN (`make test` sets it
// after `make build`); without it TestMain builds them into a temporary
// directory, so a plain `go test ./...` works too. A missing client is a
// test failure naming the Debian package, never a silent skip: .ci/run
// installs them.
//
// Run as root (as CI does) the tests also check the process split: every
// program under its own account, deliveries as the mailbox owner, no
// capabilities or extra groups anywhere but in the two root programs.
package e2e
