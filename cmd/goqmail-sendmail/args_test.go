package main

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseArgs(t *testing.T) {
	deliver := func(mod func(*options)) options {
		o := options{mode: modeDeliver, dotEnds: true}
		mod(&o)
		return o
	}
	tests := []struct {
		name string // invoked as; "" = sendmail
		args []string
		want options
		err  string // substring of the usage error; "" = none
	}{
		{"", []string{"bob"}, deliver(func(o *options) { o.rcpts = []string{"bob"} }), ""},
		{"", []string{"-i", "bob", "carol"}, deliver(func(o *options) { o.dotEnds = false; o.rcpts = []string{"bob", "carol"} }), ""},
		{"", []string{"-oi", "bob"}, deliver(func(o *options) { o.dotEnds = false; o.rcpts = []string{"bob"} }), ""},
		{"", []string{"-oi-", "bob"}, deliver(func(o *options) { o.dotEnds = false; o.rcpts = []string{"bob"} }), ""},
		{"", []string{"-oif", "bob"}, deliver(func(o *options) { o.rcpts = []string{"bob"} }), ""},
		{"", []string{"-o", "i", "bob"}, deliver(func(o *options) { o.dotEnds = false; o.rcpts = []string{"bob"} }), ""},
		{"", []string{"-O", "IgnoreDots=true", "bob"}, deliver(func(o *options) { o.dotEnds = false; o.rcpts = []string{"bob"} }), ""},
		{"", []string{"-oem", "-odb", "-om", "bob"}, deliver(func(o *options) { o.rcpts = []string{"bob"} }), ""},
		{"", []string{"-t"}, deliver(func(o *options) { o.extract = true; o.rcpts = []string{} }), ""},
		{"", []string{"-ti", "extra"}, deliver(func(o *options) { o.extract, o.dotEnds = true, false; o.rcpts = []string{"extra"} }), ""},
		{"", []string{"-fbounce@x.example", "bob"}, deliver(func(o *options) { o.sender, o.hasSender = "bounce@x.example", true; o.rcpts = []string{"bob"} }), ""},
		{"", []string{"-f", "", "bob"}, deliver(func(o *options) { o.hasSender = true; o.rcpts = []string{"bob"} }), ""},
		{"", []string{"-f", "<>", "bob"}, deliver(func(o *options) { o.sender, o.hasSender = "<>", true; o.rcpts = []string{"bob"} }), ""},
		{"", []string{"-r", "x", "bob"}, deliver(func(o *options) { o.sender, o.hasSender = "x", true; o.rcpts = []string{"bob"} }), ""},
		{"", []string{"-itf", "s@x.example"}, deliver(func(o *options) {
			o.extract, o.dotEnds = true, false
			o.sender, o.hasSender = "s@x.example", true
			o.rcpts = []string{}
		}), ""},
		{"", []string{"-F", "Alice Liddell", "bob"}, deliver(func(o *options) { o.fullName = "Alice Liddell"; o.rcpts = []string{"bob"} }), ""},
		{"", []string{"-bm", "-v", "bob"}, deliver(func(o *options) { o.verbose = true; o.rcpts = []string{"bob"} }), ""},
		{"", []string{"--", "bob"}, deliver(func(o *options) { o.rcpts = []string{"bob"} }), ""},
		{"", []string{"-N", "success,delay", "-V", "envid", "-X", "/tmp/log", "-B", "8bitmime", "-C", "/etc/x", "-d0.1", "-h", "5", "-L", "x", "-n", "-R", "full", "-U", "-Am", "-G", "-m", "-x", "-E", "-J", "-c", "-e", "q", "-p", "smtp", "bob"},
			deliver(func(o *options) { o.rcpts = []string{"bob"} }), ""},
		{"", []string{"-bs"}, options{mode: modeSMTP, dotEnds: true, rcpts: []string{}}, ""},
		{"", []string{"-b", "s"}, options{mode: modeSMTP, dotEnds: true, rcpts: []string{}}, ""},
		{"", []string{"-bp"}, options{mode: modeQueue, dotEnds: true, rcpts: []string{}}, ""},
		{"mailq", nil, options{mode: modeQueue, dotEnds: true, rcpts: []string{}}, ""},
		{"mailq", []string{"-v"}, options{mode: modeQueue, dotEnds: true, verbose: true, rcpts: []string{}}, ""},
		{"newaliases", nil, options{mode: modeNewAliases, dotEnds: true, rcpts: []string{}}, ""},
		{"", []string{"-bi"}, options{mode: modeNewAliases, dotEnds: true, rcpts: []string{}}, ""},
		{"", []string{"-I"}, options{mode: modeNewAliases, dotEnds: true, rcpts: []string{}}, ""},
		{"", []string{"-q"}, options{mode: modeFlush, dotEnds: true, rcpts: []string{}}, ""},
		{"", []string{"-q30m"}, options{mode: modeFlush, dotEnds: true, rcpts: []string{}}, ""},
		{"", []string{"-bh"}, options{mode: modeIgnore, dotEnds: true, rcpts: []string{}}, ""},

		{"", []string{"-Z", "bob"}, options{}, "unknown option -Z"},
		{"", []string{"-tZ"}, options{}, "unknown option -Z"},
		{"", []string{"--help"}, options{}, "unknown option --help"},
		{"", []string{"-f"}, options{}, "-f needs a value"},
		{"", []string{"-bd"}, options{}, "goqmaild"},
		{"", []string{"-bv", "bob"}, options{}, "-bv is not supported"},
		{"", []string{"-B", "binary", "bob"}, options{}, "-B needs"},
		{"", nil, options{}, "no recipients"},
		{"", []string{"-i"}, options{}, "no recipients"},
		{"", []string{"bob", "-f", "x"}, options{}, "options must come first"},
		{"", []string{"-bs", "bob"}, options{}, "-bs takes no recipients"},
		{"", []string{"-bs", "-t"}, options{}, "-t can be used only"},
		{"mailq", []string{"bob"}, options{}, "no recipients"},
	}
	for _, tt := range tests {
		name := tt.name
		if name == "" {
			name = "sendmail"
		}
		got, err := parseArgs(name, tt.args)
		if tt.err != "" {
			var ue *usageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s %q: err = %v, want a usage error with %q", name, tt.args, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s %q: %v", name, tt.args, err)
			continue
		}
		if got.rcpts == nil {
			got.rcpts = []string{}
		}
		if tt.want.rcpts == nil {
			tt.want.rcpts = []string{}
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s %q:\n got %+v\nwant %+v", name, tt.args, got, tt.want)
		}
	}
}

func TestFindRoot(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "control"), 0o755)
	os.MkdirAll(filepath.Join(root, "bin"), 0o755)
	os.MkdirAll(filepath.Join(root, "other"), 0o755)
	noEnv := func(string) string { return "" }
	exe := filepath.Join(root, "bin", "sendmail")
	if _, err := findRoot("", noEnv, exe); err == nil {
		t.Fatal("found a root without control/me")
	}
	os.WriteFile(filepath.Join(root, "control", "me"), []byte("x.example\n"), 0o644)
	if got, err := findRoot("", noEnv, exe); err != nil || got != root {
		t.Fatalf("findRoot = %q, %v; want %q", got, err, root)
	}
	link := filepath.Join(root, "other", "sendmail")
	os.WriteFile(exe, nil, 0o755)
	os.Symlink(exe, link)
	if got, err := findRoot("", noEnv, link); err != nil || got != root {
		t.Fatalf("findRoot through a symlink = %q, %v; want %q", got, err, root)
	}
	if _, err := findRoot("", noEnv, filepath.Join(root, "other", "x")); err == nil || !strings.Contains(err.Error(), "GOQMAIL_ROOT") {
		t.Fatalf("outside bin: %v, want an error naming GOQMAIL_ROOT", err)
	}
	env := func(k string) string {
		if k == "GOQMAIL_ROOT" {
			return "/srv/mail"
		}
		return ""
	}
	if got, _ := findRoot("", env, exe); got != "/srv/mail" {
		t.Fatalf("GOQMAIL_ROOT ignored: %q", got)
	}
}
