package main

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"goqmail/test/crashfs"
)

func TestMain(m *testing.M) {
	crashfs.RunWrapper() // the test binary is also the wrapper that starts goqmaild
	os.Exit(m.Run())
}

// needRoot skips a test that mounts crashfs, which takes root (mount(2))
// and /dev/fuse. docscheck lists the tests that call it in the README.
func needRoot(t *testing.T, why string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: " + why)
	}
	if err := crashfs.Available(); err != nil {
		t.Skipf("needs /dev/fuse: %v", err)
	}
}

// shortModes are the syncmodes the short power-loss test runs: all must
// pass with the commit protocol of issue 12 (content durable before the
// name in every syncmode, a checksum and the file's own id checked by
// recovery, the journal put back by recovery). On the code before it
// (bb3891c) syncfs, then the default, fails here in most runs (4 of 6
// with 15 cuts): Maildir copies cut short, empty or with zero pages, and
// queue files that are not complete messages after recovery
// (docs/crash.md, "Power loss"); fsync passes there too, but not always
// in 500 cuts. "journal ring" is the default mode with 16 KB journal
// segments, so that each life goes round the ring and retires segments.
var shortModes = []string{"journal", "journal ring", "fsync", "syncfs"}

// TestPowerCut is the short power-loss campaign of `make test`: a few cuts
// of the programs in $GOQMAIL_BIN on crashfs, 20 per mode, with a
// fixed seed: about 7 s each on an idle 2-CPU machine, 20 s under load.
// The 3-minute bound only stops a run that hangs. The long one is
// `make powercut`.
func TestPowerCut(t *testing.T) {
	needRoot(t, "runs goqmail on crashfs, a FUSE file system mounted with mount(2)")
	bin := os.Getenv("GOQMAIL_BIN")
	if bin == "" {
		t.Skip("GOQMAIL_BIN is not set (make test sets it to the built programs)")
	}
	for _, mode := range shortModes {
		t.Run(mode, func(t *testing.T) {
			o := pcOptions{cuts: 20, messages: 20, sessions: 4, slow: 1, users: 4, maxTry: 20, syncmode: mode,
				seed: 12, timeout: 3 * time.Minute, drain: 30 * time.Second, flush: time.Millisecond, bin: bin}
			if mode == "journal ring" {
				o.syncmode, o.journalSeg = "journal", 16<<10
			}
			ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
			defer cancel()
			var out bytes.Buffer
			res, err := runPowercut(ctx, o, &out)
			if err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			if !res.passed() {
				t.Fatalf("power-loss test failed:\n%s", out.String())
			}
			if res.cuts != o.cuts || res.ackedN == 0 || res.files == 0 {
				t.Fatalf("the campaign did not run as planned (%d cuts, %d acknowledged, %d files checked):\n%s", res.cuts, res.ackedN, res.files, out.String())
			}
			t.Logf("%s", out.String())
		})
	}
}
