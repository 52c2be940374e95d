package migrate

import (
	"fmt"
	"path/filepath"
	"strings"

	"goqmail/internal/dotqmail"
	"goqmail/internal/vdir"
)

// mailboxIndex knows every imported user's old and new home, so that
// .qmail lines naming an old Maildir can be understood and rewritten.
type mailboxIndex struct {
	byOldHome map[string]string // cleaned old home (vpasswd dir field) -> local@domain
	newHome   map[string]string // local@domain -> new home (ROOT/vmail/<domain>/<local>)
	oldRoot   string            // the vpopmail tree: paths under it do not exist on the new server
}

// owner finds the user whose old home holds path: the address and the
// part of path below the home ("Maildir/", "Maildir/.Spam/").
func (ix *mailboxIndex) owner(path string) (addr, rest string, ok bool) {
	p := filepath.Clean(path)
	for d := p; d != "/" && d != "."; d = filepath.Dir(d) {
		if a, found := ix.byOldHome[d]; found {
			rel, _ := filepath.Rel(d, p)
			if strings.HasSuffix(path, "/") && rel != "." {
				rel += "/"
			}
			return a, rel, true
		}
	}
	return "", "", false
}

// ownMaildir reports whether path is the Maildir of an imported user, and
// whose.
func (ix *mailboxIndex) ownMaildir(path string) (string, bool) {
	a, rest, ok := ix.owner(path)
	if !ok || strings.TrimSuffix(rest, "/") != "Maildir" {
		return "", false
	}
	return a, true
}

// refersToOldTree reports whether a line names something inside the
// vpopmail tree that the import does not rewrite.
func (ix *mailboxIndex) refersToOldTree(line string) bool {
	return ix.oldRoot != "" && strings.Contains(line, ix.oldRoot+"/")
}

// dotPlan is what one .qmail file of the old tree becomes.
type dotPlan struct {
	// alias, if non-nil, is a directory alias to these addresses; instr
	// then holds the same as an instruction file, for an alias the
	// directory refuses (an address it cannot store).
	alias   []string
	instr   []byte   // non-nil: an instruction file with this content
	skip    string   // non-empty: nothing to do, and why
	problem string   // non-empty: cannot be carried over, and why
	notes   []string // lines of an instruction file that need the admin's eye
	why     string   // why an instruction file and not an alias
}

// planDotQmail decides what .qmail-<ext> of domain becomes (the domain
// directory's files; qmail turns '.' in an extension into ':', so the
// local part is ext with ':' back to '.'). isUser says whether the local
// part is a user of the domain: qmail-local reads .qmail-<user> before
// .qmail-default runs vdelivermail, so such a file overrides the user's
// mailbox, which an alias cannot do (a user and an alias never share a
// local part); it stays an instruction file, as does anything that is not
// a plain forward (programs, mbox files, Maildirs of no imported user) and
// every "-default" wildcard file.
func planDotQmail(ext, domain string, data []byte, isUser bool, ix *mailboxIndex) dotPlan {
	local := strings.ReplaceAll(ext, ":", ".")
	ins, err := dotqmail.Parse(data, false)
	if err != nil {
		return dotPlan{problem: fmt.Sprintf(".qmail-%s of %s: %v", ext, domain, err)}
	}
	if len(ins) == 0 {
		return dotPlan{problem: fmt.Sprintf(".qmail-%s of %s has no delivery instruction (qmail used its default delivery, which has no meaning for a virtual domain)", ext, domain)}
	}
	self := local + "@" + domain
	if isUser {
		own := true
		for _, in := range ins {
			a, ok := ix.ownMaildir(in.Value)
			own = own && in.Kind == dotqmail.Maildir && ok && a == self
		}
		if own {
			return dotPlan{skip: "it only delivers to the user's own mailbox"}
		}
	}
	wild := ext == "default" || strings.HasSuffix(ext, "-default")
	if !isUser && !wild {
		if _, err := vdir.CheckLocal(local); err == nil {
			if targets, ok := forwardTargets(ins, domain, ix); ok {
				p := rewriteInstructions(ins, "", ix)
				p.alias = targets
				return p
			}
		}
	}
	return rewriteInstructions(ins, "", ix)
}

// forwardTargets turns instructions that only forward (or deliver to the
// Maildir of an imported user, which is the same as forwarding to that
// user) into alias targets.
func forwardTargets(ins []dotqmail.Instruction, domain string, ix *mailboxIndex) ([]string, bool) {
	var out []string
	for _, in := range ins {
		switch in.Kind {
		case dotqmail.Forward:
			t := in.Value
			if !strings.Contains(t, "@") {
				t += "@" + domain
			}
			out = append(out, t)
		case dotqmail.Maildir:
			a, ok := ix.ownMaildir(in.Value)
			if !ok {
				return nil, false
			}
			out = append(out, a)
		default:
			return nil, false
		}
	}
	return out, true
}

// rewriteInstructions writes instructions back as a .qmail file, with
// paths into an imported user's old home moved to the new home. home is
// the directory relative paths were relative to for vdelivermail (a
// user's own .qmail); "" keeps relative paths as they are. Lines that
// still name the old vpopmail tree are noted: they will not work once it
// is gone.
func rewriteInstructions(ins []dotqmail.Instruction, home string, ix *mailboxIndex) dotPlan {
	var b strings.Builder
	var p dotPlan
	for _, in := range ins {
		if (in.Kind == dotqmail.Maildir || in.Kind == dotqmail.Mbox) && home != "" && strings.HasPrefix(in.Value, "./") {
			in.Value = filepath.Join(home, in.Value) + trailingSlash(in.Value)
		}
		if in.Kind == dotqmail.Maildir || in.Kind == dotqmail.Mbox {
			if a, rest, ok := ix.owner(in.Value); ok {
				in.Value = filepath.Join(ix.newHome[a], rest) + trailingSlash(in.Value)
			}
		}
		line := in.String()
		if ix.refersToOldTree(line) {
			p.notes = append(p.notes, line)
		}
		b.WriteString(line + "\n")
	}
	p.instr = []byte(b.String())
	return p
}

func trailingSlash(s string) string {
	if strings.HasSuffix(s, "/") {
		return "/"
	}
	return ""
}

// planUserDotQmail decides what a user's own .qmail (in the user's home,
// read by vdelivermail) becomes: the same lines as the domain-level
// instruction file .qmail-<local>, which goqmail reads first just as
// qmail-local read the domain's .qmail-<local> before vdelivermail. A
// line that vdelivermail treated as a Maildir even without the trailing
// '/' (it delivers to nothing else) keeps that meaning.
func planUserDotQmail(addr, home string, data []byte, ix *mailboxIndex) dotPlan {
	ins, err := dotqmail.Parse(data, false)
	if err != nil {
		return dotPlan{problem: fmt.Sprintf("%s: .qmail in the mailbox directory: %v", addr, err)}
	}
	if len(ins) == 0 {
		return dotPlan{skip: "the user's .qmail has no delivery instruction"}
	}
	own := true
	for i, in := range ins {
		if in.Kind == dotqmail.Mbox {
			ins[i] = dotqmail.Instruction{Kind: dotqmail.Maildir, Value: in.Value + "/"}
			in = ins[i]
		}
		v := in.Value
		if strings.HasPrefix(v, "./") {
			v = filepath.Join(home, v) + trailingSlash(v)
		}
		a, ok := ix.ownMaildir(v)
		own = own && in.Kind == dotqmail.Maildir && ok && a == addr
	}
	if own {
		return dotPlan{skip: "the user's .qmail only delivers to the own mailbox"}
	}
	return rewriteInstructions(ins, home, ix)
}

// planDefault maps a domain's .qmail-default to a catch-all rule. vpopmail
// writes one line,
//
//	| <vpopmail>/bin/vdelivermail '' <what>
//
// where <what> is what vdelivermail does with mail for no user (vdelivermail.c
// usernotfound): "bounce-no-mailbox" bounces, "delete" discards silently,
// a path delivers to that directory's Maildir (vadddomain -e postmaster
// writes the postmaster's home), anything else is a forward address.
// goqmail refuses unknown recipients at SMTP time instead of discarding
// them: "delete" becomes reject, and note says so. Any other content is a
// problem: goqmail would run a .qmail-default before looking at users, so
// it is not copied.
func planDefault(domain string, data []byte, ix *mailboxIndex) (c vdir.Catchall, note, problem string) {
	ins, err := dotqmail.Parse(data, false)
	if err != nil {
		return vdir.Catchall{}, "", fmt.Sprintf(".qmail-default of %s: %v", domain, err)
	}
	var what string
	ok := len(ins) == 1 && ins[0].Kind == dotqmail.Program
	if ok {
		args := shellWords(ins[0].Value)
		ok = len(args) == 3 && filepath.Base(args[0]) == "vdelivermail"
		if ok {
			what = args[2]
		}
	}
	if !ok {
		return vdir.Catchall{}, "", fmt.Sprintf(".qmail-default of %s is not vpopmail's single vdelivermail line, so its catch-all could not be carried over (left at bounce): %q", domain, strings.TrimSpace(string(data)))
	}
	switch {
	case what == "bounce-no-mailbox":
		return vdir.Catchall{Kind: vdir.CatchBounce}, "", ""
	case what == "delete":
		return vdir.Catchall{Kind: vdir.CatchReject}, "vpopmail's \"delete\" discarded such mail silently; goqmail refuses it at SMTP time", ""
	case strings.HasPrefix(what, "/"):
		p := strings.TrimSuffix(filepath.Clean(what), "/Maildir")
		a, rest, found := ix.owner(p + "/Maildir/")
		if found && rest == "Maildir/" {
			local, dom, _ := strings.Cut(a, "@")
			if dom == domain {
				return vdir.Catchall{Kind: vdir.CatchMailbox, Target: local}, "", ""
			}
			return vdir.Catchall{Kind: vdir.CatchForward, Target: a}, "", ""
		}
		return vdir.Catchall{}, "", fmt.Sprintf("catch-all of %s delivers to %s, which is no imported user's mailbox (left at bounce)", domain, what)
	case strings.Contains(what, "@"):
		return vdir.Catchall{Kind: vdir.CatchForward, Target: strings.TrimPrefix(what, "&")}, "", ""
	}
	return vdir.Catchall{}, "", fmt.Sprintf("catch-all of %s: vdelivermail argument %q not understood (left at bounce)", domain, what)
}

// shellWords splits a command line the way /bin/sh would for the simple
// lines vpopmail writes: blanks separate words, '...' and "..." quote
// (so an empty pair of quotes is an empty word), backslash escapes outside single quotes.
func shellWords(s string) []string {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'':
			inWord = true
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				cur.WriteString(s[i+1:])
				i = len(s)
				break
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			inWord = true
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				cur.WriteByte(s[i])
			}
		case c == '\\' && i+1 < len(s):
			inWord = true
			i++
			cur.WriteByte(s[i])
		default:
			inWord = true
			cur.WriteByte(c)
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}
