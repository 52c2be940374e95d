package migrate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"goqmail/internal/atomicfile"
	"goqmail/internal/vdir"
)

// Target is where users and aliases go: the virtual directory
// (*vdir.Files), which also names each user's mailbox directory.
type Target interface {
	vdir.Directory
	MailboxHome(local, domain string) string
}

// Owner is the account that owns copied mailboxes and instruction files
// (goqmailv when the import runs as root).
type Owner struct{ UID, GID int }

// Options says what to import and where to.
type Options struct {
	// QmailDir is the qmail installation (control/, users/assign); ""
	// imports none.
	QmailDir string
	// VpopmailDir is the vpopmail tree (domains/...); "" imports none.
	VpopmailDir string
	// Root is goqmail's ROOT: control files go to Root/control,
	// users/assign to Root/users/assign.
	Root string
	// Dir is the virtual directory users, aliases and domains go into;
	// VmailRoot (default Root/vmail) holds the domains' instruction files.
	Dir       Target
	VmailRoot string
	// Owner, if set, becomes the owner of every copied mailbox file and
	// instruction file (the import runs as root).
	Owner *Owner
	// DryRun reports what would be done and changes nothing.
	DryRun bool
	// Out receives one line per action, then the problems and a summary.
	Out io.Writer
	// Progress, if set, receives a line every 100 users and every 1000
	// messages copied (the command gives standard error).
	Progress io.Writer
}

// Report is the outcome of an import.
type Report struct {
	// Problems lists what could not be carried over, one line each.
	Problems []string
}

// Complete reports whether everything was carried over.
func (r Report) Complete() bool { return len(r.Problems) == 0 }

// run is one import in progress.
type run struct {
	opt     Options
	rep     Report
	served  map[string]bool // every domain and alias domain of the old tree
	oldRoot string          // the vpopmail tree, cleaned ("" = none)
	tally   tally
}

func (r *run) say(format string, args ...any) {
	fmt.Fprintf(r.opt.Out, format+"\n", args...)
}

// notCarried records something that could not be carried over.
func (r *run) notCarried(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.rep.Problems = append(r.rep.Problems, msg)
	r.say("not carried over: %s", msg)
}

// Run imports a qmail installation and a vpopmail tree, printing each
// action to opt.Out as it goes and, at the end, the list of what could
// not be carried over. The old installation is only read. In the new one,
// control files and users/assign that differ are replaced (the previous
// one kept as <name>.before-import: the import is how the old settings
// get in), but no domain, user, alias, catch-all, instruction file or
// message that exists is changed: a second run reports "already there"
// for everything the first one did and copies only the messages that
// reached the old mailboxes since. An error means the import could not go
// on (an unreadable tree, a directory that cannot be written); what was
// done until then stays, and a new run continues it.
func Run(opt Options) (Report, error) {
	if opt.Out == nil {
		opt.Out = io.Discard
	}
	if opt.VmailRoot == "" {
		opt.VmailRoot = filepath.Join(opt.Root, "vmail")
	}
	// Paths in vpasswd and .qmail files are absolute: compare them with
	// absolute directories.
	for _, p := range []*string{&opt.QmailDir, &opt.VpopmailDir} {
		if *p != "" {
			abs, err := filepath.Abs(*p)
			if err != nil {
				return Report{}, fmt.Errorf("import: %w", err)
			}
			*p = abs
		}
	}
	r := &run{opt: opt, served: map[string]bool{}, oldRoot: opt.VpopmailDir}
	if opt.DryRun {
		r.say("dry run: nothing is changed")
	}
	assignData, assignExists, err := readAssign(opt.QmailDir)
	if err != nil {
		return r.rep, err
	}
	var src *source
	if opt.VpopmailDir != "" {
		if opt.Dir == nil {
			return r.rep, errors.New("import: no virtual directory to import into")
		}
		if src, err = scanVpopmail(opt.VpopmailDir, assignData); err != nil {
			return r.rep, err
		}
		for _, d := range src.domains {
			r.served[d.name] = true
		}
		for a := range src.aliases {
			r.served[a] = true
		}
	}
	if opt.QmailDir != "" {
		if err := r.importControl(); err != nil {
			return r.rep, err
		}
		if err := r.importAssign(assignData, assignExists); err != nil {
			return r.rep, err
		}
	}
	if src != nil {
		if err := r.importVpopmail(src); err != nil {
			return r.rep, err
		}
	}
	if len(r.rep.Problems) > 0 {
		r.say("could not carry over:")
		for _, p := range r.rep.Problems {
			r.say("  %s", p)
		}
	}
	r.say("%s", r.summary())
	return r.rep, nil
}

// writeFile puts data at path unless the same is there already. A
// different file is replaced (the import is how the old installation's
// settings get in), and kept next to it as <name>.before-import.
func (r *run) writeFile(what, path string, data []byte, perm os.FileMode) error {
	old, readErr := os.ReadFile(path)
	switch {
	case readErr == nil && bytes.Equal(old, data):
		r.say("%s: already there", what)
		return nil
	case readErr == nil:
		what += fmt.Sprintf(", replacing a different one (kept as %s.before-import)", filepath.Base(path))
	case !errors.Is(readErr, fs.ErrNotExist):
		return fmt.Errorf("import %s: %w", what, readErr)
	}
	r.say("%s", what)
	if r.opt.DryRun {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("import %s: %w", what, err)
	}
	if readErr == nil {
		if err := atomicfile.WriteFile(path+".before-import", old, 0o644); err != nil {
			return fmt.Errorf("import %s: %w", what, err)
		}
	}
	if err := atomicfile.WriteFile(path, data, perm); err != nil {
		return fmt.Errorf("import %s: %w", what, err)
	}
	return nil
}
