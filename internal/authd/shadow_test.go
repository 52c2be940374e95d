package authd

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckShadow(t *testing.T) {
	shadow := []byte(strings.Join([]string{
		"root:" + dummyCrypt + ":19000:0:99999:7:::",
		"ok:" + dummyCrypt + ":19000:0:99999:7:::",
		"sha256:$5$abc$hzrSCW5v7voPgQ.tX/hn5IklZAdaK45cfNwoEEPGhA5:19000::::::",
		"locked:!" + dummyCrypt + ":19000:0:99999:7:::",
		"star:*:19000:0:99999:7:::",
		"empty::19000:0:99999:7:::",
		"expired:" + dummyCrypt + ":19000:0:99999:7::19999:",
		"expiresLater:" + dummyCrypt + ":19000:0:99999:7::20001:",
		"yes:$y$j9T$abc$def:19000:0:99999:7:::",
		"des:abJnggxhB/yWI:19000:0:99999:7:::",
		"badexp:" + dummyCrypt + ":19000:0:99999:7::x:",
	}, "\n") + "\n")
	tests := []struct {
		user, pw string
		want     ShadowAnswer
	}{
		{"ok", "sys secret", ShadowOK},
		{"ok", "wrong", ShadowBad},
		{"sha256", "pw5", ShadowOK},
		{"locked", "sys secret", ShadowBad},
		{"star", "*", ShadowBad},
		{"empty", "", ShadowBad},
		{"expired", "sys secret", ShadowBad},
		{"expiresLater", "sys secret", ShadowOK},
		{"yes", "x", ShadowUnsupported},
		{"des", "x", ShadowUnsupported},
		{"badexp", "sys secret", ShadowBad},
		{"ghost", "x", ShadowBad},
		{"", "x", ShadowBad},
		{"ok:x", "x", ShadowBad},
	}
	for _, tc := range tests {
		if got, _ := CheckShadow(shadow, tc.user, tc.pw, 20000); got != tc.want {
			t.Errorf("CheckShadow(%s, %s) = %c, want %c", tc.user, tc.pw, got, tc.want)
		}
	}
}

func TestShadowMain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shadow")
	must(t, os.WriteFile(path, []byte("ok:"+dummyCrypt+":::::::\n"), 0o600))
	tests := []struct {
		in, path string
		want     string
	}{
		{"ok\x00sys secret\x00", path, "y"},
		{"ok\x00bad\x00", path, "n"},
		{"ok\x00sys secret", path, "n"},             // unterminated
		{"ok\x00sys secret\x00extra", path, "n"},    // trailing
		{"ok\x00sys secret\x00", path + ".no", "t"}, // unreadable shadow
	}
	for _, tc := range tests {
		var out bytes.Buffer
		var logged []string
		ShadowMain(strings.NewReader(tc.in), &out, tc.path, 20000, func(f string, a ...any) { logged = append(logged, f) })
		if out.String() != tc.want {
			t.Errorf("ShadowMain(%q) = %q, want %q", tc.in, out.String(), tc.want)
		}
	}
}

func TestExecShadow(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		script string
		want   ShadowAnswer
		err    bool
	}{
		{"#!/bin/sh\nread -r x; printf y\n", ShadowOK, false}, // reads stdin without NUL handling: fine
		{"#!/bin/sh\nprintf n\n", ShadowBad, false},
		{"#!/bin/sh\nprintf yy\n", ShadowTemp, true},
		{"#!/bin/sh\nprintf z\n", ShadowTemp, true},
		{"#!/bin/sh\nexit 3\n", ShadowTemp, true},
	}
	for i, tc := range tests {
		p := filepath.Join(dir, "h"+string(rune('0'+i)))
		must(t, os.WriteFile(p, []byte(tc.script), 0o755))
		got, err := ExecShadow(p)(context.Background(), "u", "p")
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("script %d: %c, %v; want %c err=%v", i, got, err, tc.want, tc.err)
		}
	}
}
