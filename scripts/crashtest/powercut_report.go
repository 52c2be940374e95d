package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"goqmail/test/crashfs"
)

// pcResult is what a power-loss campaign found.
type pcResult struct {
	cuts       int
	cutSum     crashfs.CutStats // summed over the cuts (Keep: the sum of the keep probabilities)
	model      crashfs.Stats    // summed over the lives
	loadStalls int              // loads that reached no cut point in 2 minutes
	bootErr    error            // goqmaild did not come up on a surviving image
	stopErr    error
	timedOut   bool
	problems   []string

	files        int
	copies       map[int]map[string]map[int]int // message -> recipient -> attempt -> good copies
	misdelivered []string
	corrupt      []string
	corruptKinds map[string]int
	tmpLeft      int

	queueChecked    int
	queueIncomplete []string
	stale           []string
	bad             map[string]string // bad/ file -> description
	badAcked        map[string]int    // bad/ files named as acknowledged messages -> that message
	stuck           map[string]string // queue id -> the life it was found stuck in

	// evaluate's
	attempts, ackedN, unackedN int
	outcomes                   map[string]int
	lost, stuckAcked           []string
	badLost                    []string // acknowledged, never delivered, in bad/ (also counted lost)
	badDone                    int      // acknowledged, delivered before a cut, old name in bad/
	partial                    []string // not acknowledged, but delivered to some of its recipients only
	duplicates, extraAttempts  int
	total                      time.Duration
}

func newPCResult() *pcResult {
	return &pcResult{copies: map[int]map[string]map[int]int{}, corruptKinds: map[string]int{}, bad: map[string]string{}, badAcked: map[string]int{},
		stuck: map[string]string{}, outcomes: map[string]int{}}
}

func (r *pcResult) copy(n int, addr string, att int) {
	if r.copies[n] == nil {
		r.copies[n] = map[string]map[int]int{}
	}
	if r.copies[n][addr] == nil {
		r.copies[n][addr] = map[int]int{}
	}
	r.copies[n][addr][att]++
}

func (r *pcResult) addCut(st crashfs.CutStats) {
	r.cuts++
	r.cutSum.Pending += st.Pending
	r.cutSum.Keep += st.Keep
	r.cutSum.Applied += st.Applied
	r.cutSum.Lost += st.Lost
	r.cutSum.Torn += st.Torn
	r.cutSum.Dropped += st.Dropped
}

// addLife adds one life's file system counters.
func (r *pcResult) addLife(m crashfs.Stats) {
	r.model.Ops += m.Ops
	r.model.Durable += m.Durable
	r.model.Fsyncs += m.Fsyncs
	r.model.Fdatasyncs += m.Fdatasyncs
	r.model.DirFsyncs += m.DirFsyncs
	r.model.Syncfs += m.Syncfs
	r.model.Sync += m.Sync
	r.model.Writebacks += m.Writebacks
	r.model.Inconsistent += m.Inconsistent
}

func (r *pcResult) acked(recs []msgRecord) int {
	n := 0
	for i := range recs {
		if recs[i].acked >= 0 {
			n++
		}
	}
	return n
}

// evaluate compares what the clients were told with what was delivered:
// an acknowledged attempt must have reached every recipient of its
// message (or still be queued, stuck).
func (r *pcResult) evaluate(c *campaign) {
	for n := range c.next {
		rec := &c.recs[n]
		r.attempts += len(rec.attempts)
		for _, a := range rec.attempts {
			r.outcomes[a.outcome]++
		}
		lost := false
		if rec.acked < 0 {
			r.unackedN++
			// Not acknowledged but committed: the queue delivers a
			// message only once it is durable, so a copy for one
			// recipient means every recipient must get one.
			var got, missing []string
			for _, to := range c.to(n) {
				if len(r.copies[n][to]) > 0 {
					got = append(got, to)
				} else {
					missing = append(missing, to)
				}
			}
			if len(got) > 0 && len(missing) > 0 {
				r.partial = append(r.partial, fmt.Sprintf("message %d, never acknowledged, delivered to %s but not to %s", n, strings.Join(got, ", "), strings.Join(missing, ", ")))
			}
		} else {
			r.ackedN++
			a := rec.attempts[rec.acked]
			var missing []string
			for _, to := range c.to(n) {
				if r.copies[n][to][a.num] == 0 {
					missing = append(missing, to)
				}
			}
			switch {
			case len(missing) == 0:
			case r.stuck[a.qid] != "":
				r.stuckAcked = append(r.stuckAcked, fmt.Sprintf("message %d (%s) acknowledged as msg %s, still queued (stuck since %s)", n, envSender(n, a.num), a.qid, r.stuck[a.qid]))
			default:
				lost = true
				r.lost = append(r.lost, fmt.Sprintf("message %d (%s) acknowledged as msg %s: no copy for %s", n, envSender(n, a.num), a.qid, strings.Join(missing, ", ")))
			}
		}
		for name, m := range r.badAcked {
			switch {
			case m != n:
			case lost:
				r.badLost = append(r.badLost, r.bad[name])
			default:
				r.badDone++
			}
		}
		for _, byAtt := range r.copies[n] {
			total := 0
			for att, k := range byAtt {
				total += k
				if att-1 != rec.acked {
					r.extraAttempts += k
				}
			}
			if total > 1 {
				r.duplicates += total - 1
			}
		}
	}
}

// passed: nothing acknowledged lost or stuck, no committed message
// delivered to only some of its recipients, nothing misdelivered or
// corrupt, no incomplete message in the queue after recovery, no
// acknowledged message in bad/, and the run itself went as planned.
// Duplicates are allowed (delivery is at least once) and reported.
func (r *pcResult) passed() bool {
	return len(r.lost) == 0 && len(r.partial) == 0 && len(r.misdelivered) == 0 && len(r.corrupt) == 0 && len(r.queueIncomplete) == 0 &&
		len(r.badLost) == 0 && len(r.stuck) == 0 && r.bootErr == nil && r.stopErr == nil && !r.timedOut &&
		r.model.Inconsistent == 0 && r.loadStalls == 0 && len(r.problems) == 0
}

func (r *pcResult) print(w io.Writer, c *campaign, full bool) {
	limit := 10
	if full {
		limit = -1
	}
	list := func(what string, items []string) { listN(w, what, items, limit) }
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	verdict := "PASS"
	if !r.passed() {
		verdict = "FAIL"
	}
	o := c.o
	mode := o.syncmode
	if mode == "" {
		mode = "default"
	}
	p("")
	p("goqmail power-loss test: %s  (%s)", verdict, time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	seg := ""
	if o.journalSeg != 0 {
		seg = fmt.Sprintf(" -journalseg %d", o.journalSeg)
	}
	p("  run:        powercut -cuts %d -messages %d -sessions %d -slow %d -users %d -syncmode %s%s -flush %v -seed %d", o.cuts, o.messages, o.sessions, o.slow, o.users, mode, seg, o.flush, o.seed)
	keep := 0.0
	if r.cuts > 0 {
		keep = r.cutSum.Keep / float64(r.cuts)
	}
	p("  cuts:       %d of %d; pending operations at the cuts %d (mean keep %.2f): %d kept, %d lost, %d torn, %d dropped",
		r.cuts, o.cuts, r.cutSum.Pending, keep, r.cutSum.Applied, r.cutSum.Lost, r.cutSum.Torn, r.cutSum.Dropped)
	p("  file ops:   %d logged; %d fsync, %d fdatasync, %d directory fsync, %d syncfs, %d sync; %d idle write-backs by the harness",
		r.model.Ops, r.model.Fsyncs, r.model.Fdatasyncs, r.model.DirFsyncs, r.model.Syncfs, r.model.Sync, r.model.Writebacks)
	p("  smtp:       %d messages, %d attempts: %s", c.next, r.attempts, r.outcomeList())
	p("              %d messages acknowledged, %d never (their connection was cut every time, or the last cut came first)", r.ackedN, r.unackedN)
	p("  maildir:    %d files checked in %d mailboxes, %d Maildir/tmp leftovers removed", r.files, len(c.users), r.tmpLeft)
	p("  lost:         %d acknowledged; %d more delivered to some recipients only (never acknowledged, but committed)", len(r.lost), len(r.partial))
	p("  misdelivered: %d", len(r.misdelivered))
	p("  corrupt:      %d%s", len(r.corrupt), kindList(r.corruptKinds))
	p("  duplicated:   %d extra copies (%d copies from attempts other than the acknowledged one)", r.duplicates, r.extraAttempts)
	p("  queue:      after recovery %d message files checked, %d not complete messages, %d stale (an old message back under a new id)",
		r.queueChecked, len(r.queueIncomplete), len(r.stale))
	p("              bad/: %d (%d acknowledged and never delivered; %d old names of messages delivered before a cut); stuck: %d (%d acknowledged)",
		len(r.bad), len(r.badLost), r.badDone, len(r.stuck), len(r.stuckAcked))
	p("  time:       %v", r.total.Round(100*time.Millisecond))
	if r.bootErr != nil {
		p("  BOOT FAILED: %v", r.bootErr)
	}
	if r.timedOut {
		p("  STOPPED EARLY: -timeout %v reached or interrupted", o.timeout)
	}
	if r.loadStalls > 0 {
		p("  LOAD STALLED %d times: no cut point reached in 2 minutes", r.loadStalls)
	}
	if r.model.Inconsistent > 0 {
		p("  MODEL BUG: %d durable operations did not apply", r.model.Inconsistent)
	}
	if r.stopErr != nil {
		p("  stop: %v", r.stopErr)
	}
	list("lost", r.lost)
	list("partial", r.partial)
	list("misdelivered", r.misdelivered)
	list("corrupt", r.corrupt)
	list("not a complete message", r.queueIncomplete)
	list("stale", r.stale)
	list("stuck", r.stuckAcked)
	bad := make([]string, 0, len(r.bad))
	for _, d := range r.bad {
		bad = append(bad, d)
	}
	sort.Strings(bad)
	list("bad", bad)
	list("problem", r.problems)
}

func (r *pcResult) outcomeList() string {
	var parts []string
	for _, k := range []string{outcomeAcked, outcomeTemp, outcomeDropped, outcomeNoConn, outcomePerm} {
		if r.outcomes[k] > 0 || k == outcomeAcked {
			parts = append(parts, fmt.Sprintf("%d %s", r.outcomes[k], k))
		}
	}
	return strings.Join(parts, ", ")
}

func kindList(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%d %s", m[k], k))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
