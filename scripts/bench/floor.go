package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	"goqmail/internal/maildir"
)

// The floor (-only floor): the Maildir step alone, in this process, with
// no SMTP, queue or delivery processes around it. It answers how much of
// goqmail-local's CPU per message (the -cpu table) is the file-system work
// that every delivery must do, and how much is the rest: the IPC with
// goqmail-lspawn, reading the message from the pipe, the .qmail lookup,
// and the Go scheduler around blocking fsyncs in a process of its own.
//
// Three ways, each -floormsgs deliveries of 4 KB by 10 goroutines (the
// bench's local concurrency), on the bench's disk:
//   - goqmail: internal/maildir's Deliverer, the code goqmail-local runs:
//     tmp/ file, fsync, rename into new/, fsync of new/ shared by
//     concurrent deliveries (dirsync group commit).
//   - no directory fsync: the same without the fsync of new/, which is what
//     Postfix's local does (tmp/ file, fsync, link into new/, unlink); on
//     this ext4 without a journal the name in new/ is then not durable.
//   - GOMAXPROCS=1: the goqmail way in a scheduler of one thread, as
//     goqmail-local runs (docs/processes.md).
var floorMsgs = flag.Int("floormsgs", 5000, "floor scenario: Maildir deliveries per measurement")

func runFloor() {
	if *floorMsgs < 100 {
		die("-floormsgs %d: want at least 100", *floorMsgs)
	}
	// A new directory each run, nothing deleted before measuring: on ext4
	// without a journal the inode allocator skips recently deleted inodes.
	root := filepath.Join(*work, fmt.Sprintf("floor-%d", time.Now().UnixNano()))
	must(os.MkdirAll(root, 0o755))
	d := diskOf(root)
	fmt.Printf("floor: the Maildir step alone, %d deliveries of 4 KB by %d goroutines, %s\n", *floorMsgs, localConc, time.Now().UTC().Format(time.RFC3339))
	fmt.Printf("disk counters: %s; load average at the start: %s\n\n", d.name, loadavg())
	fmt.Println("| way | deliveries/s | CPU ms/delivery | write req/delivery | flushes/delivery |")
	fmt.Println("|---|---|---|---|---|")
	for round := 0; round < *rounds; round++ {
		floorRow(d, root, round, "goqmail (fsync of new/ shared)", true, 0)
		floorRow(d, root, round, "no directory fsync (Postfix's way)", false, 0)
		floorRow(d, root, round, "goqmail, GOMAXPROCS=1", true, 1)
	}
	// Delivered files are left in place, as the other scenarios leave
	// theirs; the next full bench run removes the work directory.
}

func floorRow(d disk, root string, round int, name string, dirSync bool, procs int) {
	md := filepath.Join(root, fmt.Sprintf("r%d-%d", round, len(name)))
	if !dirSync {
		md += "-nodirsync"
	}
	if procs > 0 {
		md += fmt.Sprintf("-p%d", procs)
	}
	for _, sub := range []string{"tmp", "new", "cur"} {
		must(os.MkdirAll(filepath.Join(md, sub), 0o700))
	}
	if procs > 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
	}
	body := bytes.Repeat([]byte("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ\n"), 4096/63)
	dv := &maildir.Deliverer{Host: "floor"}
	work := make(chan int)
	var wg sync.WaitGroup
	var failed error
	var mu sync.Mutex
	disk0, cpu0, t0 := d.read(), selfCPU(), time.Now()
	for g := 0; g < localConc; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				var err error
				if dirSync {
					_, err = dv.Deliver(md, nil, bytes.NewReader(body))
				} else {
					err = postfixWay(md, i, body)
				}
				if err != nil {
					mu.Lock()
					failed = err
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < *floorMsgs; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	el, cpu, dc := time.Since(t0), selfCPU()-cpu0, d.read().minus(disk0)
	if failed != nil {
		die("floor: %v", failed)
	}
	n := float64(*floorMsgs)
	pm := dc.perMessage(d, *floorMsgs)
	fl := "n/a"
	if pm.hasFlush {
		fl = fmt.Sprintf("%.2f", pm.flushes)
	}
	fmt.Printf("| %s | %.0f | %.3f | %.2f | %s |\n", name, n/el.Seconds(), ms(cpu)/n, pm.writes, fl)
}

// postfixWay is what Postfix's local(8) does for a Maildir delivery
// (mail_copy into tmp/, fsync, link to new/, unlink tmp/), with no fsync
// of new/.
func postfixWay(md string, i int, body []byte) error {
	name := fmt.Sprintf("%d.P%dQ%d.floor", time.Now().Unix(), os.Getpid(), i)
	tmp, final := filepath.Join(md, "tmp", name), filepath.Join(md, "new", name)
	fd, err := unix.Open(tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", tmp, err)
	}
	_, err = unix.Write(fd, body)
	if err == nil {
		err = unix.Fsync(fd)
	}
	unix.Close(fd)
	if err == nil {
		err = unix.Link(tmp, final)
	}
	if err == nil {
		err = unix.Unlink(tmp)
	}
	return err
}
