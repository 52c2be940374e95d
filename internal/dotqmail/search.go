// Package dotqmail is qmail-local's reading of a user's delivery
// instructions (man dot-qmail.9, nq106:qmail-local.c): which .qmail file
// applies to an address extension (Search), what its lines mean (Parse),
// who a forward comes from (Owner, NewSender), and the environment a
// delivery program sees (Env). It decides; it delivers nothing.
//
// The file system is reached only through an io/fs.FS rooted at the home
// directory, so every name this package builds stays inside home: besides
// qmail's '.' -> ':' rewrite of the extension, goqmail also rewrites '/' to
// ':' (qmail let "a/b" name .qmail-a/b, a file in a subdirectory), and
// fs.FS refuses anything that is not a plain relative name.
package dotqmail

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"syscall"
)

// MaxFileSize bounds a .qmail file; qmail slurps any size. A larger file is
// a temporary error, not a silent truncation of someone's forward list.
const MaxFileSize = 1 << 20

// Found is the .qmail file that applies to a delivery.
type Found struct {
	// Name is the file found, relative to home (".qmail-foo-default");
	// "" when none applies.
	Name string
	// Data is its content; empty data means "use the default delivery".
	Data []byte
	// ForwardOnly is set when the file has its owner-execute bit: qmail
	// then allows only forward lines in it.
	ForwardOnly bool
	// Default is $DEFAULT, the part of the extension a "default" in the
	// name stood for, in the extension's own case; HasDefault says whether
	// a -default file matched at all (DEFAULT is then set, maybe empty).
	Default    string
	HasDefault bool
}

// ErrWritable is qmail's refusal of a .qmail file that someone other than
// its owner may write: they could redirect the mail. qmail's mask is
// conf-patrn (002 by default); goqmail refuses group write too (022).
var ErrWritable = errors.New("Uh-oh: .qmail file is writable. (#4.7.0)")

// SafeExt is the extension as it appears in file names: ASCII lower case
// (qmail's case_lowerb; other bytes are left alone, so SafeExt keeps every
// byte in place), with '.' (qmail, so no name can be "..") and '/'
// (goqmail, so no name can leave the home directory) turned into ':'.
func SafeExt(ext string) string {
	b := []byte(ext)
	for i, c := range b {
		switch {
		case 'A' <= c && c <= 'Z':
			b[i] = c + 'a' - 'A'
		case c == '.' || c == '/':
			b[i] = ':'
		}
	}
	return string(b)
}

// Search finds the .qmail file for dash and ext in home, as qmail-local's
// qmesearch. With dash "" it is the bare user's ".qmail" (".qmail"+ext in
// general) and nothing else: qmail would go on to ".qmaildefault", which
// goqmail does not. With dash "-" and ext "a-b-c" it tries .qmail-a-b-c,
// .qmail-a-b-default, .qmail-a-default, .qmail-default, in that order.
//
// A name that does not exist, or is not a regular file, is skipped, as in
// qmail. Any other failure to open or stat a candidate is returned and
// means a temporary failure: mail is never bounced because a file could
// not be read.
func Search(fsys fs.FS, dash, ext string) (Found, error) {
	safe := SafeExt(ext)
	name := ".qmail" + dash + safe
	f, ok, err := readQmail(fsys, name)
	if err != nil || ok {
		if ok && strings.HasSuffix(safe, "default") {
			// qmail sets DEFAULT even for an exact match whose name ends
			// in "default": the last seven bytes of ext.
			f.Default, f.HasDefault = ext[len(ext)-len("default"):], true
		}
		return f, err
	}
	if dash == "" {
		return Found{}, nil
	}
	for i := len(safe); i >= 0; i-- {
		if i > 0 && safe[i-1] != '-' {
			continue
		}
		f, ok, err := readQmail(fsys, ".qmail"+dash+safe[:i]+"default")
		if err != nil {
			return Found{}, err
		}
		if ok {
			// SafeExt keeps every byte in place, so offsets into safe are
			// offsets into ext.
			f.Default, f.HasDefault = ext[i:], true
			return f, nil
		}
	}
	return Found{}, nil
}

// readQmail opens and reads one candidate (qmail's qmeexists).
func readQmail(fsys fs.FS, name string) (Found, bool, error) {
	file, err := fsys.Open(name)
	if err != nil {
		if missing(err) {
			return Found{}, false, nil
		}
		return Found{}, false, fmt.Errorf("Unable to open %s: %w. (#4.3.0)", name, cause(err))
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return Found{}, false, fmt.Errorf("Unable to stat %s: %w. (#4.3.0)", name, cause(err))
	}
	if !st.Mode().IsRegular() {
		return Found{}, false, nil
	}
	if st.Mode().Perm()&0o022 != 0 {
		return Found{}, false, ErrWritable
	}
	data, err := io.ReadAll(io.LimitReader(file, MaxFileSize+1))
	if err != nil {
		return Found{}, false, fmt.Errorf("Unable to read %s: %w. (#4.3.0)", name, cause(err))
	}
	if len(data) > MaxFileSize {
		return Found{}, false, fmt.Errorf("Uh-oh: %s is longer than %d bytes. (#4.7.0)", name, MaxFileSize)
	}
	return Found{Name: name, Data: data, ForwardOnly: st.Mode().Perm()&0o100 != 0}, true, nil
}

// missing reports errors that mean "no such file": it does not exist, a
// path component is not a directory, or the name is too long to exist
// (a long extension must still reach the shorter -default names; qmail
// got the same from error_temp).
func missing(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) ||
		errors.Is(err, syscall.ENAMETOOLONG)
}

// Owner reports whether ".qmail<dash><ext>-owner" exists: forwards then
// leave with the owner's address as their envelope sender, so bounces
// reach the list owner (qmail-local's qmeox).
func Owner(fsys fs.FS, dash, ext string) (bool, error) {
	name := ".qmail" + dash + SafeExt(ext) + "-owner"
	_, err := fs.Stat(fsys, name)
	if err == nil {
		return true, nil
	}
	if missing(err) {
		return false, nil
	}
	return false, fmt.Errorf("Unable to stat %s: %w. (#4.3.0)", name, cause(err))
}

// Home is the file system Search and Owner read: home's directory tree.
func Home(home string) fs.FS { return os.DirFS(home) }

// cause strips the *fs.PathError around a system error, whose text would
// repeat the operation and name the report already gives.
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
