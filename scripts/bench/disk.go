package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// The block device's own counters, read before and after each run, tell
// how many write requests, cache flushes and bytes a message cost the disk
// (Documentation/ABI/stable/sysfs-block, "stat"): field 5 is write
// requests completed, field 7 sectors written (always 512 bytes, whatever
// the device's sector size), field 16 flush requests completed (kernels
// 5.5 and later; older ones have 11 or 15 fields and no flush count).
//
// They count the whole device: everything any process on the machine
// wrote during the run (other engineers' builds and tests, the neighbour's
// dd in the neighbour scenario, the server's log file, the bench itself)
// and what the kernel wrote back on its own (inodes and directories that
// nobody fsync'd, flushed later by writeback, are counted in whichever run
// they happen to fall). They are figures for the disk, not for one program.

// disk is the device holding the directory under test.
type disk struct {
	name string // e.g. vda, or vda1 for a partition
	stat string // its /sys/.../stat file; "" if there is no block device (tmpfs)
}

type diskCount struct {
	writes, sectors, flushes int64
	hasFlush                 bool
}

// diskOf finds the block device of dir through its st_dev:
// /sys/dev/block/MAJOR:MINOR is the device (or partition) itself.
func diskOf(dir string) disk {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		die("stat %s: %v", dir, err)
	}
	dev := fmt.Sprintf("/sys/dev/block/%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev))
	target, err := filepath.EvalSymlinks(dev)
	if err != nil {
		return disk{name: fmt.Sprintf("none (device %d:%d, no block device)", unix.Major(st.Dev), unix.Minor(st.Dev))}
	}
	return disk{name: filepath.Base(target), stat: filepath.Join(target, "stat")}
}

func (d disk) read() diskCount {
	if d.stat == "" {
		return diskCount{}
	}
	b, err := os.ReadFile(d.stat)
	if err != nil {
		die("read %s: %v", d.stat, err)
	}
	c, err := parseDiskStat(b)
	if err != nil {
		die("%s: %v", d.stat, err)
	}
	return c
}

// parseDiskStat reads a block device's stat line: 11 fields before Linux
// 4.18, 15 with the discard fields, 17 with the flush fields (5.5).
func parseDiskStat(b []byte) (diskCount, error) {
	f := strings.Fields(string(b))
	if len(f) < 11 {
		return diskCount{}, fmt.Errorf("%d fields, want at least 11", len(f))
	}
	var c diskCount
	for _, x := range []struct {
		field int // 1-based, as the kernel documents them
		to    *int64
	}{{5, &c.writes}, {7, &c.sectors}, {16, &c.flushes}} {
		if x.field > len(f) {
			continue
		}
		n, err := strconv.ParseInt(f[x.field-1], 10, 64)
		if err != nil {
			return diskCount{}, fmt.Errorf("field %d: %w", x.field, err)
		}
		*x.to = n
	}
	c.hasFlush = len(f) >= 17
	return c, nil
}

func (c diskCount) minus(b diskCount) diskCount {
	return diskCount{c.writes - b.writes, c.sectors - b.sectors, c.flushes - b.flushes, c.hasFlush && b.hasFlush}
}

func (c diskCount) plus(b diskCount) diskCount {
	return diskCount{c.writes + b.writes, c.sectors + b.sectors, c.flushes + b.flushes, c.hasFlush && b.hasFlush}
}

// diskPerMsg is one run's counts divided by the messages it delivered.
type diskPerMsg struct {
	writes, flushes, kb float64
	hasFlush, none      bool // none: no block device under the directory
}

func (c diskCount) perMessage(d disk, msgs int) diskPerMsg {
	if d.stat == "" {
		return diskPerMsg{none: true}
	}
	n := float64(msgs)
	return diskPerMsg{float64(c.writes) / n, float64(c.flushes) / n, float64(c.sectors) * 512 / 1024 / n, c.hasFlush, false}
}

// cells formats write requests, flushes and KB written per message as
// three table cells.
func (p diskPerMsg) cells() string {
	if p.none {
		return "n/a | n/a | n/a"
	}
	fl := "n/a"
	if p.hasFlush {
		fl = fmt.Sprintf("%.2f", p.flushes)
	}
	return fmt.Sprintf("%.2f | %s | %.1f", p.writes, fl, p.kb)
}

// medianDisk takes the median of each figure on its own over the rounds.
func medianDisk(ps []diskPerMsg) diskPerMsg {
	if len(ps) == 0 {
		return diskPerMsg{none: true}
	}
	pick := func(get func(diskPerMsg) float64) float64 {
		v := make([]float64, len(ps))
		for i, p := range ps {
			v[i] = get(p)
		}
		return medianOf(v)
	}
	return diskPerMsg{
		writes:   pick(func(p diskPerMsg) float64 { return p.writes }),
		flushes:  pick(func(p diskPerMsg) float64 { return p.flushes }),
		kb:       pick(func(p diskPerMsg) float64 { return p.kb }),
		hasFlush: ps[0].hasFlush,
		none:     ps[0].none,
	}
}
