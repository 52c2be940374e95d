package main

import (
	"errors"
	"os"
	"path/filepath"
)

// errNoRoot says how to fix a sendmail that cannot find its server.
var errNoRoot = errors.New("cannot find the goqmail directory: set GOQMAIL_ROOT to it (the directory that holds control/ and run/)")

// findRoot returns the goqmail directory: $GOQMAIL_ROOT, else the parent of
// the directory holding the executable when that directory is named bin
// and the parent has control/me (an installed ROOT/bin/sendmail, however
// it is reached through symbolic links).
func findRoot(getenv func(string) string, exe string) (string, error) {
	if r := getenv("GOQMAIL_ROOT"); r != "" {
		return r, nil
	}
	if exe == "" {
		return "", errNoRoot
	}
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	dir := filepath.Dir(exe)
	if filepath.Base(dir) != "bin" {
		return "", errNoRoot
	}
	root := filepath.Dir(dir)
	if _, err := os.Stat(filepath.Join(root, "control", "me")); err != nil {
		return "", errNoRoot
	}
	return root, nil
}
