package main

import (
	"errors"
	"os"
	"path/filepath"

	"goqmail/internal/rootdir"
)

// errNoRoot says how to fix a sendmail that cannot find its server.
var errNoRoot = errors.New("cannot find the goqmail directory: give --root ROOT or set GOQMAIL_ROOT to it (the directory that holds control/ and run/)")

// findRoot returns the goqmail directory by the rule every goqmail command
// follows (internal/rootdir), with sendmail's own step for a program
// that is run by name from anywhere: --root ROOT (flag), else
// $GOQMAIL_ROOT, else the parent of the directory holding the executable
// when that directory is named bin and the parent has control/me (an
// installed ROOT/bin/sendmail, however it is reached through symbolic
// links), else /var/goqmail when it has control/me.
func findRoot(flag string, getenv func(string) string, exe string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if r := getenv(rootdir.Env); r != "" {
		return r, nil
	}
	if exe != "" {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		if dir := filepath.Dir(exe); filepath.Base(dir) == "bin" && hasMe(filepath.Dir(dir)) {
			return filepath.Dir(dir), nil
		}
	}
	if hasMe(rootdir.Default) {
		return rootdir.Default, nil
	}
	return "", errNoRoot
}

func hasMe(root string) bool {
	_, err := os.Stat(filepath.Join(root, "control", "me"))
	return err == nil
}
