package smtpd

import (
	"os"
	"path/filepath"
	"strings"

	"goqmail/internal/assign"
	"goqmail/internal/control"
	"goqmail/internal/rcptcheck"
	"goqmail/internal/rewrite"
	"goqmail/internal/vdir"
)

// recipientChecker builds the existence check for the server rooted at
// root from the same files the delivery side reads: control/ (routing,
// aliasuser, aliases), users/assign, passwd, ROOT/vdir and ROOT/vmail.
func recipientChecker(s *control.Snapshot, root string) *rcptcheck.Checker {
	dir := vdir.OpenFiles(filepath.Join(root, "vdir"), filepath.Join(root, "vmail"), -1, -1)
	return &rcptcheck.Checker{
		Rules:       rewrite.New(s).WithDirectory(dir),
		Directory:   dir,
		VmailRoot:   filepath.Join(root, "vmail"),
		Assign:      &assign.File{Path: filepath.Join(root, "users", "assign")},
		System:      assign.OSSystem{},
		SingleUID:   singleUID(),
		AliasUser:   s.Line(control.AliasUser),
		AliasesFile: s.Line(control.Aliases),
	}
}

// singleUID tells the check which uid the spawner restricts passwd
// matches to. The supervisor passes GOQMAIL_SMTPD_UID=-1 in single-user
// mode, where the spawner delivers only as the user running goqmail (our
// own uid); as root it passes the SMTP account's uid and the spawner
// delivers as anyone. Without the variable (sendmail -bs, tests) there is
// no restriction: the check then errs toward accepting.
func singleUID() int {
	if v, ok := os.LookupEnv("GOQMAIL_SMTPD_UID"); ok && strings.TrimSpace(v) == "-1" {
		return os.Getuid()
	}
	return 0
}

// Default and bounds of control/maxunknownrcpt.
