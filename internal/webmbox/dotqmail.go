package webmbox

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"goqmail/internal/atomicfile"
	"goqmail/internal/dotqmail"
)

// Forwarding and vacation act at delivery time through qmail's own
// mechanism, the user's .qmail file (docs/delivery.md): forward lines,
// the Maildir line ("keep a copy") and a program line running
// goqmail-vacation. The file is
//
//	system user:  ~/.qmail
//	virtual user: ROOT/vmail/<domain>/.qmail-<local> (vpopmail's place,
//	              which goqmail-local looks at before the directory)
//
// The webmail owns three kinds of lines: every forward, the line
// delivering to this mailbox's Maildir, and the goqmail-vacation line.
// Every other line (an administrator's program, another Maildir or mbox,
// comments) is kept where it was. A file the webmail cannot edit without
// changing its meaning is refused with a message, never rewritten: one
// that does not parse, is forward-only (x bit, "+" lines) or is a
// symbolic link. A file that would say only what the default delivery
// does anyway is removed, so that the default (the directory's answer
// with its quota, or control/defaultdelivery) applies again.

// dotMarker is the comment the webmail puts at the top of files it
// writes (which also keeps the first line from being blank, an error
// for qmail-local).
const dotMarker = "# goqmail webmail settings: forwards, the mailbox line and the vacation line are changed from the webmail"

// dotFile is a .qmail file as read.
type dotFile struct {
	path   string   // the file
	base   string   // the directory relative lines are relative to
	box    string   // this mailbox's Maildir (cleaned)
	lines  []string // the file's lines (no newline)
	exists bool
}

// lineKind classifies a line for the webmail.
type lineKind int

const (
	lineOther lineKind = iota // kept as it is
	lineMarker
	lineForward
	lineMailbox
	lineVacation
)

// dotQmail returns the user's .qmail file and the directory its
// relative lines start from.
func (s *Session) dotQmailPath() (path, base string, err error) {
	if s.Kind == "virtual" {
		local, domain, ok := strings.Cut(s.Address, "@")
		if !ok || local == "" || domain == "" || strings.ContainsAny(s.Address, "/\x00") || strings.HasPrefix(domain, ".") {
			return "", "", fmt.Errorf("the session's address %q is not local@domain", s.Address)
		}
		base = filepath.Join(s.Root, "vmail", strings.ToLower(domain))
		// qmail's -default rule (dotqmail.Search): .qmail-x-default
		// also holds the instructions of every x-anything@domain without
		// a file of its own. A user named x-default writing it would
		// take the mail of the users x-* of the domain (found in the
		// security review of issue 15); the administrator's to write.
		if l := strings.ToLower(local); l == "default" || strings.HasSuffix(l, "-default") {
			return "", "", errConflict{fmt.Sprintf("the forwarding file of %s would also act for other addresses of %s (qmail's \"-default\" rule); ask the administrator", s.Address, domain)}
		}
		// dotqmail.Search's names: lower case, "." becomes ":".
		return filepath.Join(base, ".qmail-"+strings.ReplaceAll(strings.ToLower(local), ".", ":")), base, nil
	}
	if s.Home == "" {
		return "", "", errors.New("the session has no home directory")
	}
	return filepath.Join(s.Home, ".qmail"), s.Home, nil
}

// readDotQmail reads the file and refuses what it cannot edit.
func (s *Session) readDotQmail() (*dotFile, error) {
	path, base, err := s.dotQmailPath()
	if err != nil {
		return nil, err
	}
	f := &dotFile{path: path, base: base, box: filepath.Clean(s.Store.Root)}
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errConflict{fmt.Sprintf("%s is not a plain file; ask the administrator to change forwarding there", path)}
	}
	if fi.Mode()&0o100 != 0 {
		return nil, errConflict{fmt.Sprintf("%s is forward-only (its execute bit is set); ask the administrator", path)}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if _, err := dotqmail.Parse(data, false); err != nil {
		return nil, errConflict{fmt.Sprintf("%s has an error (%v); ask the administrator to fix it", path, err)}
	}
	f.exists = true
	f.lines = strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	for _, l := range f.lines {
		if strings.HasPrefix(l, "+") {
			return nil, errConflict{fmt.Sprintf("%s has a \"+\" line (forward-only from there on); ask the administrator", path)}
		}
	}
	return f, nil
}

type errConflict struct{ text string }

func (e errConflict) Error() string { return e.text }

// kind classifies one line.
func (f *dotFile) kind(line string) (lineKind, dotqmail.Instruction) {
	if strings.TrimRight(line, " \t") == dotMarker {
		return lineMarker, dotqmail.Instruction{}
	}
	ins, err := dotqmail.Parse([]byte(line+"\n"), false)
	if err != nil || len(ins) != 1 {
		return lineOther, dotqmail.Instruction{}
	}
	in := ins[0]
	switch in.Kind {
	case dotqmail.Forward:
		return lineForward, in
	case dotqmail.Maildir:
		if f.resolve(in.Value) == f.box {
			return lineMailbox, in
		}
	case dotqmail.Program:
		if strings.Contains(in.Value, "goqmail-vacation") {
			return lineVacation, in
		}
	}
	return lineOther, in
}

func (f *dotFile) resolve(p string) string {
	if !filepath.IsAbs(p) {
		p = filepath.Join(f.base, p)
	}
	return filepath.Clean(p)
}

// state is what the file says about the webmail's settings. With no
// file, mail goes to the mailbox (the default delivery).
func (f *dotFile) state() (forwards []string, keepCopy, vacation bool) {
	if !f.exists {
		return nil, true, false
	}
	for _, l := range f.lines {
		k, in := f.kind(l)
		switch k {
		case lineForward:
			forwards = append(forwards, in.Value)
		case lineMailbox:
			keepCopy = true
		case lineVacation:
			vacation = true
		}
	}
	return forwards, keepCopy, vacation
}

// mailboxLine is the line delivering to this mailbox: relative to the
// base when the Maildir is inside it, as qmail users write it.
func (f *dotFile) mailboxLine() string {
	if rel, err := filepath.Rel(f.base, f.box); err == nil && !strings.HasPrefix(rel, "..") && rel != "." {
		return "./" + rel + "/"
	}
	return f.box + "/"
}

// render is the new file: the marker, the other lines where they were
// (the mailbox line in the place of the first old one, or first), then
// the vacation line and the forwards (qmail-local sends forwards after
// every other line succeeded anyway).
func (f *dotFile) render(forwards []string, keepCopy bool, vacLine string) (data []byte, onlyMailbox bool) {
	out := []string{dotMarker}
	emitted, others := false, 0
	for i, l := range f.lines {
		k, _ := f.kind(l)
		switch k {
		case lineMarker, lineForward, lineVacation:
		case lineMailbox:
			if keepCopy && !emitted {
				out, emitted = append(out, f.mailboxLine()), true
			}
		default:
			if strings.TrimSpace(l) == "" && (i == 0 || len(out) == 1) {
				continue
			}
			out = append(out, l)
			others++
		}
	}
	if keepCopy && !emitted {
		out = append([]string{dotMarker, f.mailboxLine()}, out[1:]...)
	}
	if vacLine != "" {
		out = append(out, vacLine)
	}
	for _, a := range forwards {
		out = append(out, "&"+a)
	}
	onlyMailbox = keepCopy && others == 0 && vacLine == "" && len(forwards) == 0
	return []byte(strings.Join(out, "\n") + "\n"), onlyMailbox
}

// write replaces the file atomically (mode 0644: qmail-local defers on a
// .qmail writable by group or others), or removes it when it would only
// repeat the default delivery.
func (s *Session) writeDotQmail(f *dotFile, forwards []string, keepCopy bool, vacLine string) error {
	// Each line the webmail writes must stay one line: a home directory
	// or Maildir path holding a newline (set by whoever wrote passwd or
	// the directory) would otherwise split the vacation line, which
	// /bin/sh runs, and put the rest on a program line of its own
	// (security review of issue 15). shellQuote protects the words, not
	// the line.
	own := append([]string{vacLine, f.mailboxLine()}, forwards...)
	for _, l := range own {
		if strings.ContainsAny(l, "\n\r\x00") {
			return errConflict{fmt.Sprintf("a line for %s would hold a line break (%q); ask the administrator", f.path, l)}
		}
	}
	data, onlyMailbox := f.render(forwards, keepCopy, vacLine)
	if onlyMailbox && s.defaultIsMailbox(f) {
		if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return fsyncDir(filepath.Dir(f.path))
	}
	if !f.exists && bytes.Equal(data, []byte(dotMarker+"\n")) {
		return nil
	}
	return atomicfile.WriteFile(f.path, data, 0o644)
}

// defaultIsMailbox reports whether mail without the file reaches this
// mailbox: for a virtual user the directory's answer does; for a system
// user control/defaultdelivery (default ./Maildir/) must be that one
// Maildir line.
func (s *Session) defaultIsMailbox(f *dotFile) bool {
	if s.Kind == "virtual" {
		return true
	}
	dd := "./Maildir/"
	if data, err := os.ReadFile(filepath.Join(s.Root, "control", "defaultdelivery")); err == nil {
		dd = strings.TrimSpace(string(data))
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	ins, err := dotqmail.Parse([]byte(dd+"\n"), false)
	return err == nil && len(ins) == 1 && ins[0].Kind == dotqmail.Maildir && f.resolve(ins[0].Value) == f.box
}

func fsyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// shellQuote quotes a word for /bin/sh -c, which runs program lines.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
