package main

import (
	"strings"
	"testing"

	"goqmail/internal/rootdir"
	"goqmail/internal/rootdir/roottest"
)

// TestRootConvention: goqmaild finds ROOT as every goqmail command does
// (internal/rootdir/roottest), and -h/--help is help, not a directory.
func TestRootConvention(t *testing.T) {
	for _, c := range roottest.Cases {
		root, help, err := rootFromArgs(c.Expand(), c.Getenv)
		want := c.Want
		if want == "" {
			want = rootdir.Default
		}
		switch {
		case help:
			t.Errorf("%v: taken as help", c)
		case c.Err != "":
			if err == nil || !strings.Contains(err.Error(), c.Err) {
				t.Errorf("%v: root %q, %v; want an error with %q", c, root, err, c.Err)
			}
		case err != nil || root != want:
			t.Errorf("%v: root %q, %v; want %q", c, root, err, want)
		}
	}
	for _, args := range [][]string{{"-h"}, {"--help"}, {"/var/goqmail", "--help"}} {
		if _, help, err := rootFromArgs(args, func(string) string { return "" }); !help || err != nil {
			t.Errorf("%q: help %v, %v", args, help, err)
		}
	}
	for _, args := range [][]string{{"--bogus"}, {"a", "b"}} {
		if _, _, err := rootFromArgs(args, func(string) string { return "" }); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}
