package main

import (
	"context"
	"math/rand/v2"
	"syscall"
	"time"
)

// The processes the killer aims at. queue and send come from the pid files
// (the supervisor restarts them, at most once a second each); local is a
// delivery process, started again by the spawner at the next delivery;
// goqmaild is the supervisor itself, whose programs die with it, started
// again by the killer at once (issue 10: an old queue must never work
// beside the new one).
var targets = []string{"queue", "send", "local", "goqmaild"}

type killEvent struct {
	at     time.Time
	until  time.Time // the victim may act until then (goqmaild's programs die after it)
	target string
	pid    int
}

type killer struct {
	srv     *server
	targets []string // a subset of targets
	r       *rand.Rand
	want    int
	events  []killEvent
	double  int   // rounds that killed two programs at once
	err     error // a goqmaild that could not be started again ends the kills
}

// run SIGKILLs a random program at random moments (20-400 ms apart) until
// it has made k.want kills or ctx ends. One round in eight kills two
// different programs at once. A program that is down (waiting for its
// restart) is skipped in favour of another; if none is up, the round is
// retried after the next pause.
func (k *killer) run(ctx context.Context) {
	for rounds := 0; len(k.events) < k.want && rounds < k.want*200 && k.err == nil; rounds++ {
		pause := time.Duration(20+k.r.IntN(381)) * time.Millisecond
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		n := 1
		if k.r.IntN(8) == 0 && k.want-len(k.events) >= 2 {
			n = 2
		}
		killed := 0
		for _, i := range k.r.Perm(len(k.targets)) {
			if killed == n {
				break
			}
			if k.kill(k.targets[i]) {
				killed++
			}
		}
		if killed == 2 {
			k.double++
		}
	}
}

// kill SIGKILLs the current process of target; false if there is none.
func (k *killer) kill(target string) bool {
	var pid int
	if target == "goqmaild" {
		pid, at, dead, err := k.srv.killSupervisor()
		k.err = err
		if pid == 0 {
			return false
		}
		// The programs get their SIGKILL as goqmaild exits: allow them a
		// moment beyond the time it was seen dead.
		k.events = append(k.events, killEvent{at: at, until: dead.Add(100 * time.Millisecond), target: target, pid: pid})
		return true
	}
	if target == "local" {
		pids := k.srv.locals()
		if len(pids) == 0 {
			return false
		}
		pid = pids[k.r.IntN(len(pids))]
	} else {
		pid = k.srv.pid(target)
	}
	if pid == 0 {
		return false
	}
	// The marker goes first: whatever the victim logs after it, it logged
	// in its last instant.
	k.srv.marker("kill %s pid %d", target, pid)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		k.srv.marker("kill %s pid %d failed: %v", target, pid, err)
		return false
	}
	now := time.Now()
	k.events = append(k.events, killEvent{at: now, until: now, target: target, pid: pid})
	return true
}

// counts returns kills per target.
func (k *killer) counts() map[string]int {
	m := map[string]int{}
	for _, e := range k.events {
		m[e.target]++
	}
	return m
}
