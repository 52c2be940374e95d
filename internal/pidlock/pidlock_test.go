package pidlock

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary act as a holder process: with
// PIDLOCK_HOLD=path it takes the lock, says "held" and sleeps until killed.
func TestMain(m *testing.M) {
	if path := os.Getenv("PIDLOCK_HOLD"); path != "" {
		if _, err := TryAcquire(path, 0o644); err != nil {
			os.Stdout.WriteString("error " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Stdout.WriteString("held\n")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func startHolder(t *testing.T, path string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "PIDLOCK_HOLD="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "held\n" {
		t.Fatalf("holder said %q", line)
	}
	return cmd
}

// A lock held by another process is refused with its pid; once that
// process is killed (SIGKILL: no cleanup of its own) the lock is free.
func TestHeldUntilHolderDies(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.pid")
	holder := startHolder(t, path)
	_, err := TryAcquire(path, 0o644)
	var held *HeldError
	if !errors.As(err, &held) {
		t.Fatalf("TryAcquire while held: %v, want a HeldError", err)
	}
	if held.PID != holder.Process.Pid {
		t.Errorf("HeldError names pid %d, holder is %d", held.PID, holder.Process.Pid)
	}
	if got := Holder(path); got != holder.Process.Pid {
		t.Errorf("Holder = %d, want %d", got, holder.Process.Pid)
	}
	holder.Process.Signal(syscall.SIGKILL)
	holder.Wait()
	// The file still names the dead holder: Holder must not believe it.
	if got := Holder(path); got != 0 {
		t.Errorf("Holder after the holder died = %d, want 0", got)
	}
	l, err := TryAcquire(path, 0o644)
	if err != nil {
		t.Fatalf("after the holder died: %v", err)
	}
	if got := ReadPID(path); got != os.Getpid() {
		t.Errorf("pid file says %d, want %d", got, os.Getpid())
	}
	l.Release()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Release left %s: %v", path, err)
	}
}

// Acquire waits for the holder and reports while it waits.
func TestAcquireWaits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.pid")
	holder := startHolder(t, path)
	var reports atomic.Int32
	go func() {
		time.Sleep(300 * time.Millisecond)
		holder.Process.Kill()
	}()
	l, err := Acquire(path, 0o644, 100*time.Millisecond, func(h *HeldError, _ time.Duration) {
		if h.PID == holder.Process.Pid {
			reports.Add(1)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	if reports.Load() == 0 {
		t.Error("Acquire waited without reporting the holder")
	}
}

// Many goroutines taking and releasing the lock (each TryAcquire opens its
// own file, so they exclude each other like processes): never two holders
// at once, even across the remove-then-unlock of Release.
func TestNeverTwoHolders(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.pid")
	var holders, maxHolders, taken atomic.Int32
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				l, err := TryAcquire(path, 0o644)
				if err != nil {
					continue
				}
				n := holders.Add(1)
				for m := maxHolders.Load(); n > m && !maxHolders.CompareAndSwap(m, n); m = maxHolders.Load() {
				}
				taken.Add(1)
				holders.Add(-1)
				l.Release()
			}
		}()
	}
	wg.Wait()
	if maxHolders.Load() != 1 {
		t.Errorf("at most %d holders at once, want 1", maxHolders.Load())
	}
	if taken.Load() == 0 {
		t.Error("nobody ever got the lock")
	}
}
