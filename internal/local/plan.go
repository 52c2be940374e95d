package local

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"goqmail/internal/aliases"
	"goqmail/internal/dotqmail"
)

// fallbackDelivery is used when the spawner sends no default delivery:
// qmail-start's usual "./Maildir/", which is what goqmail did before
// .qmail support. qmail itself would defer ("first line is blank").
const fallbackDelivery = "./Maildir/\n"

// textNoMailbox is qmail-local's bounce for an extension without a .qmail.
const textNoMailbox = "Sorry, no mailbox here by that name. (#5.1.1)"

// plan decides what to do with the message, in qmail-local's order: the
// aliases file for the alias user (fastforward, which qmail runs from
// ~alias/.qmail-default; goqmail asks it first), then the .qmail search,
// then the default delivery, replaced by ~/.forward for the bare user when
// the site enables dot-forward.
func (d *delivery) plan() ([]dotqmail.Instruction, error) {
	if d.req.Virtual {
		return d.virtualPlan()
	}
	req := d.req
	if req.Aliases != "" {
		plan, ok, err := d.aliasPlan()
		if err != nil || ok {
			return plan, err
		}
	}
	found, err := dotqmail.Search(dotqmail.Home(req.Home), req.Dash, req.Ext)
	if err != nil {
		return nil, err
	}
	d.info.Default, d.info.HasDefault = found.Default, found.HasDefault
	if found.Name == "" && req.Dash != "" {
		return nil, permanent(textNoMailbox)
	}
	if len(found.Data) > 0 {
		return dotqmail.Parse(found.Data, found.ForwardOnly)
	}
	// No .qmail, or an empty one: the default delivery, where the x bit
	// of an empty file no longer applies (qmail resets flagforwardonly).
	def := req.DefaultDelivery
	if def == "" {
		def = fallbackDelivery
	}
	defPlan, err := dotqmail.Parse([]byte(def), false)
	if err != nil || !req.DotForward || req.Dash != "" {
		return defPlan, err
	}
	fwd, ok, err := d.dotForwardPlan(defPlan)
	if err != nil || ok {
		return fwd, err
	}
	return defPlan, nil
}

// aliasPlan looks the address up in the aliases file. ok is false when it
// is no alias: the alias user's .qmail files decide then.
func (d *delivery) aliasPlan() ([]dotqmail.Instruction, bool, error) {
	table, err := aliases.Load(d.req.Aliases)
	if table == nil {
		return nil, false, temporary("Unable to read the aliases file: %v. (#4.3.0)", err)
	}
	if err != nil {
		// Some lines are bad; the rest of the table still holds.
		d.w.Log.Printf("warning: %v", err)
	}
	targets, ok := table.Lookup(strings.ToLower(d.req.Ext))
	if !ok {
		return nil, false, nil
	}
	if len(targets) == 0 {
		return nil, true, permanent("This alias leads only back to itself. (#5.4.6)")
	}
	// Programs see what they would under qmail, where fastforward runs
	// from ~alias/.qmail-default: DEFAULT is the whole extension.
	d.info.Default, d.info.HasDefault = d.req.Ext, true
	plan := make([]dotqmail.Instruction, 0, len(targets))
	for _, t := range targets {
		switch t.Kind {
		case aliases.Address:
			plan = append(plan, dotqmail.Instruction{Kind: dotqmail.Forward, Value: t.Value})
		case aliases.Program:
			plan = append(plan, dotqmail.Instruction{Kind: dotqmail.Program, Value: t.Value})
		default:
			// fastforward's newaliases refuses file deliveries; so do we,
			// as a temporary error the postmaster can fix.
			return nil, true, temporary("Uh-oh: the aliases file has a file delivery to %s, which is not supported. (#4.7.0)", t.Value)
		}
	}
	return plan, true, nil
}

// dotForwardPlan reads ~/.forward as qmail's dot-forward does from the
// default delivery: when it has targets, they replace the default
// delivery; when it is missing or has none, ok is false. A target naming
// the user himself (sendmail's "\user", or the bare name) means his normal
// mailbox, so the default delivery is put in its place instead of a
// forward that would only come back here and loop.
func (d *delivery) dotForwardPlan(defPlan []dotqmail.Instruction) ([]dotqmail.Instruction, bool, error) {
	data, err := readUserFile(d.req.Home, ".forward")
	if err != nil || data == nil {
		return nil, false, err
	}
	targets, err := aliases.ParseForward(data)
	if err != nil {
		return nil, false, temporary("Uh-oh: .forward file: %v. (#4.7.0)", err)
	}
	if len(targets) == 0 {
		return nil, false, nil
	}
	var plan []dotqmail.Instruction
	self := false
	for _, t := range targets {
		switch t.Kind {
		case aliases.Address:
			if d.isSelf(t.Value) {
				if !self {
					plan = append(plan, defPlan...)
				}
				self = true
				continue
			}
			plan = append(plan, dotqmail.Instruction{Kind: dotqmail.Forward, Value: t.Value})
		case aliases.Program:
			plan = append(plan, dotqmail.Instruction{Kind: dotqmail.Program, Value: t.Value})
		case aliases.File:
			kind := dotqmail.Mbox
			if strings.HasSuffix(t.Value, "/") {
				kind = dotqmail.Maildir
			}
			plan = append(plan, dotqmail.Instruction{Kind: kind, Value: t.Value})
		}
	}
	return plan, true, nil
}

// isSelf reports whether a bare .forward address is the recipient himself.
func (d *delivery) isSelf(addr string) bool {
	if strings.Contains(addr, "@") {
		return false
	}
	return strings.EqualFold(addr, d.req.Local) || strings.EqualFold(addr, d.req.User)
}

// readUserFile reads a small file the user controls in home. It returns
// nil, nil when the file does not exist or is not a regular file, and
// refuses, as a temporary error, a file others may write (qmail's rule for
// .qmail files, applied to .forward as well).
func readUserFile(home, name string) ([]byte, error) {
	f, err := os.Open(filepath.Join(home, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, temporary("Unable to open %s: %v. (#4.3.0)", name, cause(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, temporary("Unable to stat %s: %v. (#4.3.0)", name, cause(err))
	}
	if !st.Mode().IsRegular() {
		return nil, nil
	}
	if st.Mode().Perm()&0o022 != 0 {
		return nil, temporary("Uh-oh: %s file is writable. (#4.7.0)", name)
	}
	data, err := io.ReadAll(io.LimitReader(f, dotqmail.MaxFileSize+1))
	if err != nil {
		return nil, temporary("Unable to read %s: %v. (#4.3.0)", name, cause(err))
	}
	if len(data) > dotqmail.MaxFileSize {
		return nil, temporary("Uh-oh: %s is longer than %d bytes. (#4.7.0)", name, dotqmail.MaxFileSize)
	}
	return data, nil
}

// cause strips the *fs.PathError around a system error, whose text would
// repeat a path the report already names.
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
