package admin

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func fakeBinaries(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, e := range Layout {
		name := filepath.Base(e.Path)
		if e.From != "" {
			name = e.From
		}
		if !e.Dir && e.Link == "" {
			os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), 0o755)
		}
	}
	return dir
}

// reachableTemp returns a temporary directory other users can enter, as a
// root installation's accounts must.
func reachableTemp(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for d := dir; d != "/" && d != "."; d = filepath.Dir(d) {
		if st, err := os.Stat(d); err == nil && st.Mode().Perm()&0o001 == 0 {
			os.Chmod(d, st.Mode().Perm()|0o011)
		}
	}
	return dir
}

// testAliasUser is the alias account of the install tests: their own,
// so that they never move the home of the default "alias" account an
// end-to-end test may be using at the same time.
const testAliasUser = "goqmailta"

// installRoot returns a new root installation (install as root).
func installRoot(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: install creates system accounts (CI runs as root)")
	}
	root := filepath.Join(reachableTemp(t), "goqmail")
	if err := os.MkdirAll(filepath.Join(root, "control"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "control", "aliasuser"), []byte(testAliasUser+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Install(root, fakeBinaries(t), io.Discard); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestInstallThenCheck(t *testing.T) {
	root := installRoot(t)
	if probs := Check(root, true); len(probs) != 0 {
		t.Fatalf("fresh installation has problems: %v", probs)
	}
	// Running it again repairs what an admin broke.
	os.Chmod(filepath.Join(root, "queue"), 0o755)
	os.Chown(filepath.Join(root, "bin", "goqmail-lspawn"), 1, 1)
	probs := Check(root, true)
	var text []string
	for _, p := range probs {
		text = append(text, p.String())
	}
	joined := strings.Join(text, "\n")
	if !strings.Contains(joined, "queue: mode 0755, expected 0750") || !strings.Contains(joined, "goqmail-lspawn: owned by uid 1") {
		t.Fatalf("check missed the damage:\n%s", joined)
	}
	if err := Install(root, fakeBinaries(t), io.Discard); err != nil {
		t.Fatal(err)
	}
	if probs := Check(root, true); len(probs) != 0 {
		t.Fatalf("install did not repair: %v", probs)
	}
}

func TestCheckReportsMissingPieces(t *testing.T) {
	root := t.TempDir()
	probs := Check(root, false)
	if len(probs) == 0 {
		t.Fatal("an empty directory passed the check")
	}
	found := false
	for _, p := range probs {
		if strings.HasPrefix(p.String(), "control/me: missing or empty; write this host's fully qualified domain name") {
			found = true
		}
	}
	if !found {
		t.Fatalf("missing control/me not reported: %v", probs)
	}
}

func TestInitRefusesUnreachableDirectoryAsRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: only root runs the reachability check (the accounts must reach the directory)")
	}
	private := t.TempDir()
	os.Chmod(private, 0o700)
	err := Init(filepath.Join(private, "demo"), InitOptions{}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "chmod o+x") {
		t.Fatalf("Init under a 0700 directory: %v", err)
	}
}
