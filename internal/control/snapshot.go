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

// ErrNoMe is returned when control/me is missing or empty.
var ErrNoMe = errors.New("control/me is missing or empty: write this host's fully qualified domain name into it (for example: hostname -f > control/me)")

// Load reads every declared setting from dir.
func Load(dir string) (*Snapshot, error) {
	s := &Snapshot{Dir: dir, values: make(map[*Setting]Value, len(All))}
	for _, st := range All {
		if err := s.load(st); err != nil {
			return nil, err
		}
	}
	if s.values[Me].Line == "" {
		return nil, ErrNoMe
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
	return s, nil
}

func (s *Snapshot) load(st *Setting) error {
	path := filepath.Join(s.Dir, st.Name)
	if st.Kind == File {
		// Read by its own program only, which may be the only one allowed
		// to (smtproutes can hold relay passwords): note it exists.
		if _, err := os.Stat(path); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				s.values[st] = s.defaultValue(st)
				return nil
			}
			return fmt.Errorf("control file: %w", err)
		}
		s.values[st] = Value{Line: path, Source: "control/" + st.Name}
		return nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		s.values[st] = s.defaultValue(st)
		return nil
	}
	if err != nil {
		return fmt.Errorf("read control file: %w", err)
	}
	src := "control/" + st.Name
	switch st.Kind {
	case Line:
		s.values[st] = Value{Line: firstLine(data), Source: src}
	case Number:
		line := firstLine(data)
		n, err := strconv.ParseInt(line, 10, 64)
		if err != nil || n < st.Min {
			s.Warnings = append(s.Warnings, fmt.Sprintf("%s: %q is not a number >= %d; using the default %s", src, line, st.Min, st.Default))
			v := s.defaultValue(st)
			s.values[st] = v
			return nil
		}
		if st.Max > 0 && n > st.Max {
			s.Warnings = append(s.Warnings, fmt.Sprintf("%s: %d is above the maximum; using %d", src, n, st.Max))
			n = st.Max
		}
		s.values[st] = Value{Number: n, Line: strconv.FormatInt(n, 10), Source: src}
	case List:
		s.values[st] = Value{List: listLines(data), Source: src}
	case File:
		s.values[st] = Value{Line: path, Source: src}
	}
	return nil
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
func (s *Snapshot) ReadList(st *Setting) ([]string, error) {
	data, err := os.ReadFile(filepath.Join(s.Dir, st.Name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read control file: %w", err)
	}
	return listLines(data), nil
}

// listLines is qmail's control_readfile: one item per line, blank lines and
// comments skipped, trailing whitespace removed.
func listLines(data []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 4096), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), " \t\r")
		if line == "" || line[0] == '#' {
			continue
		}
		out = append(out, line)
	}
	return out
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
