package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// report is the outcome of one run.
type report struct {
	attempts int
	outcomes map[string]int
	acked    int
	gaveUp   int

	delivered int // messages with at least one good copy
	copies    int // good copies
	lost      []string
	corrupt   []string

	unacked      int      // attempts not acknowledged but delivered (allowed)
	unackedQKill int      // ... of which a queue kill fell during the attempt
	dupRedeliver int      // extra copies of one queue message (a delivery repeated)
	dupRetry     int      // extra copies from a client retry whose first try was committed but not acknowledged
	dupWhy       []string // explanations, client retries first
	retryWhy     []string
	dupUnexpl    []string

	left, bad  int      // messages still queued after the drain; in queue/bad
	stuckAcked []string // acknowledged messages among them

	li       *logInfo
	mb       *mailbox
	timedOut bool
	stalled  bool // the drain saw no progress for stallAfter
	stopErr  error

	kills     map[string]int
	doubles   int
	wantKills int

	total, load, killPhase, drain, deliveryTime time.Duration
}

// evaluate compares what the senders were told with what the Maildir holds.
func evaluate(recs []msgRecord, mb *mailbox, li *logInfo, kills []killEvent, left, bad map[string]bool) *report {
	r := &report{outcomes: map[string]int{}, corrupt: mb.corrupt, li: li, mb: mb, left: len(left), bad: len(bad)}
	queueKillDuring := func(a attempt) bool {
		for _, k := range kills {
			// The killer notes the time just after kill(2) returns; allow
			// for it being scheduled a little after the client saw the 451.
			if (k.target == "queue" || k.target == "goqmaild") && !k.until.Before(a.start) && k.at.Before(a.end.Add(100*time.Millisecond)) {
				return true
			}
		}
		return false
	}
	for n := range recs {
		rec := &recs[n]
		r.attempts += len(rec.attempts)
		for _, a := range rec.attempts {
			r.outcomes[a.outcome]++
		}
		if rec.gaveUp {
			r.gaveUp++
		}
		byAtt := mb.copies[n]
		if rec.acked >= 0 {
			r.acked++
			// Not delivered and not in the queue (msg/ or bad/) any
			// more: lost. Still queued: stuck, counted from the queue.
			switch a := rec.attempts[rec.acked]; {
			case byAtt[a.num] > 0:
			case left[a.qid] || bad[a.qid]:
				r.stuckAcked = append(r.stuckAcked, fmt.Sprintf("message %d (%s) acknowledged as queue msg %s, still queued; %s", n, envSender(n, a.num), a.qid, li.lastDelivery(a.qid)))
			default:
				r.lost = append(r.lost, fmt.Sprintf("message %d (%s) acknowledged as queue msg %s, neither delivered nor queued", n, envSender(n, a.num), a.qid))
			}
		}
		if len(byAtt) == 0 {
			continue
		}
		r.delivered++
		for _, att := range sortedKeys(byAtt) {
			c := byAtt[att]
			r.copies += c
			a := rec.attempts[att-1]
			if att-1 != rec.acked {
				r.unacked++
				qk := queueKillDuring(a)
				if qk {
					r.unackedQKill++
				}
				if len(byAtt) > 1 {
					// A client retry made a second queue message of the
					// same content: the queue committed this attempt but
					// the client heard no 250.
					why := fmt.Sprintf("message %d attempt %d: client retry; this attempt was committed but answered %q", n, att, a.text)
					if qk {
						r.retryWhy = append(r.retryWhy, why+"; queue killed during it")
					} else {
						r.dupUnexpl = append(r.dupUnexpl, why+"; no queue kill during it")
					}
				}
			}
			if c > 1 {
				r.dupRedeliver += c - 1
				qids := li.senderQ[envSender(n, att)]
				if len(qids) != 1 {
					r.dupUnexpl = append(r.dupUnexpl, fmt.Sprintf("message %d attempt %d: %d copies; queue ids in the log: %v", n, att, c, qids))
					continue
				}
				why, ok := li.explainRedelivery(qids[0], c)
				why = fmt.Sprintf("message %d attempt %d, %d copies: %s", n, att, c, why)
				if ok {
					r.dupWhy = append(r.dupWhy, why)
				} else {
					r.dupUnexpl = append(r.dupUnexpl, why)
				}
			}
		}
		// One delivered attempt is the message; every other one is a
		// duplicate made by the client's retry.
		r.dupRetry += len(byAtt) - 1
	}
	r.dupWhy = append(r.retryWhy, r.dupWhy...)
	return r
}

func sortedKeys(m map[int]int) []int {
	ks := make([]int, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Ints(ks)
	return ks
}

func (r *report) duplicates() int { return r.dupRedeliver + r.dupRetry }

// passed: nothing acknowledged lost, nothing corrupt or stuck, every
// duplicate explained by a kill, and the run itself went as planned.
func (r *report) passed() bool {
	return len(r.lost) == 0 && len(r.corrupt) == 0 && r.left == 0 && r.bad == 0 &&
		len(r.dupUnexpl) == 0 && r.gaveUp == 0 && !r.stalled && !r.timedOut && r.stopErr == nil
}

// print writes the summary and returns whether the run passed. With full,
// every detail line is written, not the first few of each kind.
func (r *report) print(w io.Writer, o options, full bool) bool {
	limit := 10
	if full {
		limit = -1
	}
	list := func(what string, items []string) { listN(w, what, items, limit) }
	pass := r.passed()
	verdict := "PASS"
	if !pass {
		verdict = "FAIL"
	}
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("")
	p("goqmail crash test: %s  (%s)", verdict, time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	p("  run:        -messages %d -kills %d -sessions %d -slow %d -targets %s -seed %d", o.messages, o.kills, o.sessions, o.slow, o.targets, o.seed)
	p("  smtp:       %d attempts: %s", r.attempts, r.outcomeList())
	p("              %d messages acknowledged, %d given up by the client", r.acked, r.gaveUp)
	p("  kills:      %d of %d (queue %d, send %d, local %d, goqmaild %d; %d double kills)",
		r.kills["queue"]+r.kills["send"]+r.kills["local"]+r.kills["goqmaild"], r.wantKills, r.kills["queue"], r.kills["send"], r.kills["local"], r.kills["goqmaild"], r.doubles)
	p("  log:        restarts queue %d, send %d, lspawn %d, smtpd %d; deliveries %d success, %d deferral (%d delivery process crashed, %d spawner lost), %d failure",
		r.li.restarts["queue"], r.li.restarts["send"], r.li.restarts["lspawn"], r.li.restarts["smtpd"],
		r.li.results["success"], r.li.results["deferral"], r.li.crashed, r.li.spawnerCut, r.li.results["failure"])
	p("              send lost its queue connection and exited %d times, %d of them with no queue kill since it started; other alerts: %d",
		r.li.queueGone, len(r.li.queueDropped), len(r.li.alerts))
	p("              queue recovery: %d uncommitted tmp files dropped, %d torn state records, %d moved to bad/", r.li.tmpDropped, r.li.torn, r.li.badMoved)
	p("  maildir:    %d files, %d messages delivered, %d Maildir/tmp leftovers", r.mb.files, r.delivered, r.mb.tmpLeft)
	p("  lost:       %d", len(r.lost))
	p("  corrupt:    %d", len(r.corrupt))
	p("  duplicate:  %d (%d redelivered, %d client retries); unexplained: %d",
		r.duplicates(), r.dupRedeliver, r.dupRetry, len(r.dupUnexpl))
	p("  stuck:      %d (%d acknowledged; queue/bad %d)", r.left+r.bad, len(r.stuckAcked), r.bad)
	p("  unacknowledged but delivered: %d (allowed; %d had a queue kill during the attempt)", r.unacked, r.unackedQKill)
	rate := 0.0
	if s := r.deliveryTime.Seconds(); s > 0 {
		rate = float64(r.delivered) / s
	}
	p("  time:       %v total; load %v, kills %v, drain %v; %.0f messages delivered/s from first send to empty queue",
		round(r.total), round(r.load), round(r.killPhase), round(r.drain), rate)
	if r.stalled {
		p("  DRAIN STALLED: the queue did not shrink for %v despite SIGALRM", stallAfter)
	}
	if r.timedOut {
		p("  STOPPED EARLY: -timeout %v reached or interrupted", o.timeout)
	}
	if r.stopErr != nil {
		p("  stop: %v", r.stopErr)
	}
	list("lost", r.lost)
	list("corrupt", r.corrupt)
	list("stuck", r.stuckAcked)
	list("unexplained duplicate", r.dupUnexpl)
	if full {
		list("explained duplicate", r.dupWhy)
	} else {
		listN(w, "explained duplicate", r.dupWhy, 5)
	}
	list("send dropped by a live queue", r.li.queueDropped)
	list("alert in the log", r.li.alerts)
	return pass
}

func (r *report) outcomeList() string {
	var parts []string
	for _, k := range []string{outcomeAcked, outcomeTemp, outcomeDropped, outcomeNoConn, outcomePerm} {
		if r.outcomes[k] > 0 || k == outcomeAcked {
			parts = append(parts, fmt.Sprintf("%d %s", r.outcomes[k], k))
		}
	}
	return strings.Join(parts, ", ")
}

// listN prints up to limit items of a kind (all if limit < 0).
func listN(w io.Writer, what string, items []string, limit int) {
	for i, it := range items {
		if i == limit {
			fmt.Fprintf(w, "  ... and %d more %s lines (all in report.txt in the work directory; -keep keeps it after a pass)\n", len(items)-limit, what)
			break
		}
		fmt.Fprintf(w, "  %s: %s\n", what, it)
	}
}
