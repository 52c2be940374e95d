// Package fuzzbrief tests scripts/fuzz-brief.sh, the short fuzz of every
// target that `make test` runs, against a fake `go` command: which
// outputs fail the run, and that a failure shows the target's output.
package fuzzbrief

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// What `go test -fuzz` prints, as seen from go1.26.
const (
	// The coordinator reporting its own -fuzztime deadline after fuzzing
	// for the whole time (the race the script forgives).
	deadlineRace = `fuzz: elapsed: 0s, gathering baseline coverage: 0/7 completed
fuzz: elapsed: 3s, execs: 13014 (4336/sec), new interesting: 29 (total: 36)
fuzz: elapsed: 4s, execs: 13014 (0/sec), new interesting: 29 (total: 36)
--- FAIL: FuzzA (4.03s)
    context deadline exceeded
FAIL
exit status 1
FAIL	goqmail/internal/p	4.035s
`
	// A seed that failed (this one only sometimes): no file is written.
	seedFailure = `fuzz: elapsed: 0s, gathering baseline coverage: 0/8 completed
failure while testing seed corpus entry: FuzzA/seed#2
fuzz: elapsed: 0s, gathering baseline coverage: 3/8 completed
--- FAIL: FuzzA (0.14s)
    --- FAIL: FuzzA (0.05s)
        fuzz_test.go:97: delivered without a 2xx sent after the end of data
    
FAIL
exit status 1
FAIL	goqmail/internal/p	0.150s
`
	// A new failing input, written to testdata.
	crasher = `fuzz: elapsed: 1s, execs: 100 (100/sec), new interesting: 0 (total: 3)
--- FAIL: FuzzA (1.02s)
    --- FAIL: FuzzA (0.00s)
        fuzz_test.go:12: boom

    Failing input written to testdata/fuzz/FuzzA/0123456789abcdef
    To re-run:
    go test -run=FuzzA/0123456789abcdef
FAIL
exit status 1
FAIL	goqmail/internal/p	1.030s
`
	// The deadline race and a real failure of another test in the run.
	raceAndMore = `--- FAIL: FuzzA (4.03s)
    context deadline exceeded
--- FAIL: TestB (0.00s)
    b_test.go:3: broken
FAIL
`
)

// fakeGo writes a `go` that prints outputs[n] on its n-th call (the last
// one for later calls) and exits 1 after any output holding "FAIL". An
// output starting with "!" also writes a file into testdata/fuzz/FuzzA, as
// the fuzzer does with a failing input ("!" is not printed).
func fakeGo(t *testing.T, dir string, outputs ...string) {
	t.Helper()
	for i, o := range outputs {
		if err := os.WriteFile(filepath.Join(dir, "out"+string(rune('0'+i))), []byte(o), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	script := `#!/bin/sh
n=$(cat "$FAKE/calls" 2>/dev/null || echo 0)
echo $((n + 1)) >"$FAKE/calls"
f="$FAKE/out$n"
[ -f "$f" ] || f="$FAKE/out` + string(rune('0'+len(outputs)-1)) + `"
if [ "$(head -c1 "$f")" = "!" ]; then
	mkdir -p internal/p/testdata/fuzz/FuzzA && echo crasher >internal/p/testdata/fuzz/FuzzA/0123456789abcdef
	tail -c +2 "$f"
else
	cat "$f"
fi
if grep -q FAIL "$f"; then exit 1; fi
exit 0
`
	bin := filepath.Join(dir, "bin")
	os.MkdirAll(bin, 0o755)
	if err := os.WriteFile(filepath.Join(bin, "go"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

// run runs the script in a tree with one fuzz target, FuzzA in
// internal/p, with the fake go first on PATH.
func run(t *testing.T, outputs ...string) (string, error) {
	t.Helper()
	script, err := filepath.Abs("../fuzz-brief.sh")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	fake := filepath.Join(dir, "fake")
	os.MkdirAll(fake, 0o755)
	fakeGo(t, fake, outputs...)
	tree := filepath.Join(dir, "tree")
	os.MkdirAll(filepath.Join(tree, "internal", "p"), 0o755)
	os.WriteFile(filepath.Join(tree, "internal", "p", "fuzz_test.go"), []byte("package p\n\nfunc FuzzA(f *testing.F) {}\n"), 0o644)
	cmd := exec.Command("sh", script)
	cmd.Dir = tree
	cmd.Env = append(os.Environ(), "FAKE="+fake, "PATH="+filepath.Join(fake, "bin")+":"+os.Getenv("PATH"), "FUZZTIME=1s")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestFuzzBrief(t *testing.T) {
	for _, tt := range []struct {
		name    string
		outputs []string
		pass    bool
		want    string // in the script's output
	}{
		{"pass", []string{"PASS\nok\n"}, true, "fuzz internal/p FuzzA (1s)"},
		// The old script ran a target again after any failure that wrote
		// no file, and passed when the second run did: a seed that fails
		// only sometimes went unnoticed.
		{"seed failure is not retried", []string{seedFailure, "PASS\n"}, false, "fuzz_test.go:97: delivered without a 2xx"},
		{"crasher", []string{"!" + crasher}, false, "Failing input written to testdata/fuzz/FuzzA/0123456789abcdef"},
		// The old script ran it again and failed when the race came twice.
		{"deadline race alone passes", []string{deadlineRace}, true, "Go's coordinator then reported its own deadline"},
		{"deadline race with another failure fails", []string{raceAndMore}, false, "b_test.go:3: broken"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(t, tt.outputs...)
			if tt.pass != (err == nil) {
				t.Fatalf("passed=%v, want %v; output:\n%s", err == nil, tt.pass, out)
			}
			if !strings.Contains(out, tt.want) {
				t.Fatalf("output lacks %q:\n%s", tt.want, out)
			}
			if !tt.pass && !strings.Contains(out, "fuzz internal/p FuzzA FAILED") {
				t.Fatalf("no FAILED line:\n%s", out)
			}
		})
	}
}

// TestDeadlineRaceWithCrasher: the race's words with a new file in
// testdata (a crasher saved while the coordinator stopped) fail.
func TestDeadlineRaceWithCrasher(t *testing.T) {
	out, err := run(t, "!"+deadlineRace)
	if err == nil {
		t.Fatalf("passed:\n%s", out)
	}
}
