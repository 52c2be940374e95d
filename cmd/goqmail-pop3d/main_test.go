package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestSessionRefusesRoot: the mailbox side must run as the owner.
func TestSessionRefusesRoot(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root: the refusal to run a mailbox session as root is only reachable as root")
	}
	bin := filepath.Join(t.TempDir(), "goqmail-pop3d")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "-session", t.TempDir()).CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 100 || !bytes.Contains(out, []byte("refuses to run as root")) {
		t.Fatalf("-session as root: %v %s", err, out)
	}
}
