package control

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Value is the effective value of one setting and where it came from.
type Value struct {
	Line   string
	Number int64
	List   []string
	Source string // "control/NAME", "default", "default (me)", or "missing"
}

// Snapshot is an immutable view of control/ at one moment. Processes load a
// new one on SIGHUP and swap it in whole, so a session never sees half of
// an edit.
type Snapshot struct {
	Dir      string
	values   map[*Setting]Value
	Warnings []string
}

// ErrNoMe is among the problems when control/me is missing or empty.
var ErrNoMe = errors.New("control/me is missing or empty: write this host's fully qualified domain name into it (for example: hostname -f > control/me)")

// Load reads every declared setting from dir and checks each value
// against its declaration. Any problem refuses the whole configuration:
// the error is Problems, naming every problem (errors.Is(err, ErrInvalid)).
// A missing file means its documented default; so does a missing me for
// no one: it is required.
func Load(dir string) (*Snapshot, error) {
	s, probs := Inspect(dir)
	if len(probs) > 0 {
		return nil, probs
	}
	return s, nil
}

// Inspect reads like Load but returns the snapshot even when some files are
// invalid (each keeps its default), with the problems. It is for commands
// that show the configuration (showctl, queue listings) and act on none of
// it; programs that act use Load.
func Inspect(dir string) (*Snapshot, Problems) {
	s := &Snapshot{Dir: dir, values: make(map[*Setting]Value, len(All))}
	var probs Problems
	for _, st := range All {
		probs = append(probs, s.load(st)...)
	}
	if s.values[Me].Line == "" && !probs.about(Me) {
		probs = append(probs, Problem{File: "control/me", What: "missing or empty",
			Fix: "write this host's fully qualified domain name into it (for example: hostname -f > control/me)", Err: ErrNoMe})
	}
	// The supervisor has nothing to serve without an SMTP address.
	if len(s.values[SMTPListen].List) == 0 && !probs.about(SMTPListen) {
		probs = append(probs, Problem{File: "control/" + SMTPListen.Name, What: "lists no address",
			Fix: "write host:port such as 127.0.0.1:25, or delete the file for the default :25"})
	}
	// Settings whose default is me resolve after me is known.
	for _, st := range All {
		v := s.values[st]
		if v.Source != "default" || !st.FromMe {
			continue
		}
		v.Source = "default (me)"
		switch st.Kind {
		case Line:
			v.Line = s.values[Me].Line
		case List:
			v.List = []string{s.values[Me].Line}
		}
		s.values[st] = v
	}
	return s, probs
}

// about reports whether a problem concerns the file of st.
func (ps Problems) about(st *Setting) bool {
	for _, p := range ps {
		if p.File == "control/"+st.Name {
			return true
		}
	}
	return false
}

// load reads one setting. An invalid value leaves the default in place (for
// Inspect) and returns the problems.
func (s *Snapshot) load(st *Setting) Problems {
	path := filepath.Join(s.Dir, st.Name)
	src := "control/" + st.Name
	s.values[st] = s.defaultValue(st)
	if st.Kind == File {
		// Read by its own program only, which may be the only one allowed
		// to (smtproutes can hold relay passwords): note it exists. Its
		// content is checked by internal/ctlcheck with the real parser.
		if _, err := os.Stat(path); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return Problems{unreadable(src, err)}
		}
		s.values[st] = Value{Line: path, Source: src}
		return nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return Problems{unreadable(src, err)}
	}
	switch st.Kind {
	case Line:
		line := firstLine(data)
		if n := extraLines(data); n > 0 {
			s.Warnings = append(s.Warnings, Problem{File: src, Line: 2, What: fmt.Sprintf("%d more line(s) after the first are ignored (this file holds one value)", n), Fix: "delete them"}.String())
		}
		if st.Check != nil && !(st == Me && line == "") {
			if err := st.Check(line); err != nil {
				return Problems{problemFor(src, 1, err)}
			}
		}
		s.values[st] = Value{Line: line, Source: src}
	case Number:
		n, p := st.parseNumber(src, firstLine(data))
		if p != nil {
			return Problems{*p}
		}
		if extraLines(data) > 0 {
			s.Warnings = append(s.Warnings, Problem{File: src, Line: 2, What: "the lines after the first are ignored (this file holds one number)", Fix: "delete them"}.String())
		}
		if st.Max > 0 && n > st.Max {
			s.Warnings = append(s.Warnings, Problem{File: src, Line: 1, What: fmt.Sprintf("%d is above goqmail's cap of %d; using %d", n, st.Max, st.Max), Fix: fmt.Sprintf("write at most %d", st.Max)}.String())
			n = st.Max
		}
		s.values[st] = Value{Number: n, Line: strconv.FormatInt(n, 10), Source: src}
	case List:
		items := Items(data)
		var probs Problems
		seen := map[string]int{}
		list := make([]string, 0, len(items))
		for _, it := range items {
			if st.Check != nil {
				if err := st.Check(it.Text); err != nil {
					probs = append(probs, problemFor(src, it.Line, err))
					continue
				}
			}
			if st.Unique != nil {
				k := st.Unique(it.Text)
				if first, dup := seen[k]; dup {
					probs = append(probs, Problem{File: src, Line: it.Line,
						What: fmt.Sprintf("%q repeats the key of line %d, and only the first line would be used", it.Text, first),
						Fix:  "delete one of the two lines"})
					continue
				}
				seen[k] = it.Line
			}
			list = append(list, it.Text)
		}
		if len(probs) > 0 {
			return probs
		}
		s.values[st] = Value{List: list, Source: src}
	}
	return nil
}

// parseNumber reads a Number setting's line: a whole decimal number in
// [Min, Max], or [Min, ∞) when the setting caps at Max instead.
func (st *Setting) parseNumber(src, line string) (int64, *Problem) {
	bad := func(what string) (int64, *Problem) {
		return 0, &Problem{File: src, Line: 1, What: what, Fix: st.NumberFix()}
	}
	if line == "" {
		return bad("is empty")
	}
	for i := 0; i < len(line); i++ {
		if line[i] < '0' || line[i] > '9' {
			if st.Min == 0 && st.Max == 1 {
				return bad(fmt.Sprintf("%q is not 0 or 1", line))
			}
			return bad(fmt.Sprintf("%q is not a number of %s", line, st.unit()))
		}
	}
	n, err := strconv.ParseInt(line, 10, 64)
	if err != nil {
		return bad(fmt.Sprintf("%q is too large", line))
	}
	if n < st.Min {
		return bad(fmt.Sprintf("%d is below the minimum of %d", n, st.Min))
	}
	if st.Max > 0 && n > st.Max && !st.Cap {
		return bad(fmt.Sprintf("%d is above the maximum of %d", n, st.Max))
	}
	if st.Unit == "seconds" && n > maxSeconds {
		// Seconds become a time.Duration, which would overflow.
		return bad(fmt.Sprintf("%d seconds is more than 68 years", n))
	}
	return n, nil
}

// maxSeconds is the largest number of seconds any setting takes.
const maxSeconds = 1<<31 - 1

func (st *Setting) unit() string {
	if st.Unit == "" {
		return "units"
	}
	return st.Unit
}

// NumberFix says what a Number setting accepts, as the fix of a problem
// and the rule in docs/control.md: "write a whole number such as 10485760
// (0 = no limit)".
func (st *Setting) NumberFix() string {
	if st.Min == 0 && st.Max == 1 {
		return "write 1 (on) or 0 (off)"
	}
	var b strings.Builder
	b.WriteString("write a whole number")
	switch {
	case st.Max > 0 && !st.Cap:
		fmt.Fprintf(&b, " from %d to %d", st.Min, st.Max)
	case st.Min > 0:
		fmt.Fprintf(&b, " of at least %d", st.Min)
	}
	ex := st.Example
	if ex == "" {
		ex = st.Default
	}
	fmt.Fprintf(&b, " such as %s", ex)
	if st.Cap {
		fmt.Fprintf(&b, "; above %d counts as %d", st.Max, st.Max)
	}
	if st.Zero != "" {
		fmt.Fprintf(&b, " (0 = %s)", st.Zero)
	}
	return b.String()
}

// unreadable is the problem of a control file that exists but cannot be
// read: a program that needs it would fail, so it is an error, never the
// default.
func unreadable(src string, err error) Problem {
	fix := "make it readable (control files are normally mode 644)"
	if errors.Is(err, fs.ErrPermission) {
		fix = "make it readable by the programs that use it (chmod 644, or the group and mode docs/control.md gives)"
	}
	return Problem{File: src, What: "cannot be read: " + errText(err), Fix: fix}
}

// errText is the cause of a file error without the path, which the
// problem names already.
func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func (s *Snapshot) defaultValue(st *Setting) Value {
	v := Value{Source: "default"}
	switch st.Kind {
	case Line:
		v.Line = st.Default
	case Number:
		v.Number, _ = strconv.ParseInt(st.Default, 10, 64)
		v.Line = st.Default
	case List:
		if st.Default != "" {
			v.List = strings.Split(st.Default, "\n")
		}
	case File:
		v.Source = "missing"
	}
	return v
}

// firstLine is qmail's control_rldef: the first line, trailing spaces and
// tabs (and a CR) removed.
func firstLine(data []byte) string {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		data = data[:i]
	}
	return string(bytes.TrimRight(data, " \t\r"))
}

// ReadList reads a File setting that holds a list (smtproutes) the way List
// settings are read; a missing file is an empty list.
func (s *Snapshot) ReadList(st *Setting) ([]Item, error) {
	data, err := os.ReadFile(filepath.Join(s.Dir, st.Name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read control file: %w", err)
	}
	return Items(data), nil
}

// Item is one line of a list file and its line number in the file.
type Item struct {
	Line int // 1-based
	Text string
}

// Items is qmail's control_readfile: one item per line, blank lines and
// comments skipped, trailing whitespace removed. Each item keeps its line
// number, so a problem names the line the administrator sees.
func Items(data []byte) []Item {
	var out []Item
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), " \t\r")
		if line == "" || line[0] == '#' {
			continue
		}
		out = append(out, Item{Line: n, Text: line})
	}
	return out
}

// Texts returns the text of each item.
func Texts(items []Item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.Text
	}
	return out
}

// LineNos returns the line number of each item.
func LineNos(items []Item) []int {
	out := make([]int, len(items))
	for i, it := range items {
		out[i] = it.Line
	}
	return out
}

// extraLines counts the non-blank lines after the first: a one-value file
// with more is probably a list written into the wrong file.
func extraLines(data []byte) int {
	_, rest, _ := bytes.Cut(data, []byte("\n"))
	n := 0
	for _, l := range bytes.Split(rest, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 {
			n++
		}
	}
	return n
}

// Get returns the value of a setting.
func (s *Snapshot) Get(st *Setting) Value { return s.values[st] }

// Line returns a Line setting.
func (s *Snapshot) Line(st *Setting) string { return s.values[st].Line }

// Number returns a Number setting.
func (s *Snapshot) Number(st *Setting) int64 { return s.values[st].Number }

// List returns a List setting.
func (s *Snapshot) List(st *Setting) []string { return s.values[st].List }

// Present reports whether a File setting exists, and returns its path.
func (s *Snapshot) Present(st *Setting) (string, bool) {
	v := s.values[st]
	return filepath.Join(s.Dir, st.Name), v.Source != "missing"
}

// Describe renders the snapshot as `goqmail showctl` prints it.
func (s *Snapshot) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "control directory: %s\n\n", s.Dir)
	for _, st := range All {
		v := s.values[st]
		var shown string
		switch st.Kind {
		case List:
			if len(v.List) == 0 {
				shown = "(empty)"
			} else {
				shown = strings.Join(v.List, ", ")
			}
		case File:
			if v.Source == "missing" {
				shown = "(none)"
			} else {
				shown = "present"
			}
		default:
			shown = v.Line
		}
		if st == DataBytes && v.Number == 0 {
			shown += " (no limit)"
		}
		fmt.Fprintf(&b, "%-20s %s\n%-20s   from %s\n", st.Name+":", shown, "", v.Source)
	}
	for _, w := range s.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	return b.String()
}
