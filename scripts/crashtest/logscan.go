package main

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// logInfo is what the crash test reads back from goqmaild's log: where the
// kills fell among the programs' lines, and every delivery of every queue
// message, so that a duplicate can be traced to the kill that caused it.
type logInfo struct {
	lines      int
	restarts   map[string]int         // goqmaild: "warning: X exited (...); restarting"
	senderQ    map[string][]string    // envelope sender -> queue ids (send's "info msg" lines)
	deliveries map[string][]*delivery // queue id -> its deliveries, in log order
	kills      []logKill
	results    map[string]int // delivery outcomes: success, deferral, failure
	crashed    int            // deferrals because a delivery process died
	spawnerCut int            // deferrals because send lost the spawner
	alerts     []string       // "alert:" lines from any program, but see queueGone
	queueGone  int            // send's "alert: queue connection: ..." (it exits when the queue dies)
	// send lost its queue connection although the queue had not died since
	// that send started: the queue dropped a live send.
	queueDropped []string
	torn         int // queue: state log with a torn record
	badMoved     int // queue: recovery moved an unreadable message to bad/
	tmpDropped   int // queue: recovery dropped an uncommitted tmp/ file
}

// delivery is one "starting delivery N: msg Q" and its result line. N
// restarts at 1 with every send process, so send processes are numbered.
type delivery struct {
	send      int // which send process (1 = the first)
	seq       int
	startLine int
	endLine   int    // 0: no result line (send died first)
	result    string // success, deferral, failure or ""
	text      string
}

type logKill struct {
	line   int
	target string
	pid    int
	// until is the last line the victim may have written: its own line
	// for a program; for goqmaild, whose programs die an instant after
	// it, the line where the next goqmaild says it started.
	until int
}

var (
	reRestart  = regexp.MustCompile(`^warning: (\S+) exited \((.*)\); restarting$`)
	reInfo     = regexp.MustCompile(`^info msg ([0-9a-f]{16}): bytes \d+ from <([^>]*)>`)
	reStart    = regexp.MustCompile(`^starting delivery (\d+): msg ([0-9a-f]{16}) to `)
	reResult   = regexp.MustCompile(`^delivery (\d+): (success|deferral|failure): (.*)$`)
	reKill     = regexp.MustCompile(`^kill (\S+) pid (\d+)$`)
	reTimeProg = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z ([a-z-]+): (.*)$`)
)

// scanLog reads the log at path.
func scanLog(path string) (*logInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	li := &logInfo{restarts: map[string]int{}, senderQ: map[string][]string{},
		deliveries: map[string][]*delivery{}, results: map[string]int{}}
	sendNo := 1
	supervisorKill := -1           // index in li.kills of a goqmaild kill whose successor has not started yet
	sendStart, queueDeath := 0, -1 // log lines: current send's start, last queue kill or exit
	current := map[int]*delivery{} // seq -> delivery, for the current send
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		li.lines++
		m := reTimeProg.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		prog, text := m[1], m[2]
		if strings.HasPrefix(text, "alert:") {
			if prog == "send" && strings.HasPrefix(text, "alert: queue connection:") {
				li.queueGone++
				if queueDeath < sendStart {
					li.queueDropped = append(li.queueDropped, fmt.Sprintf("line %d: %s (send #%d; no queue kill or exit since it started)", li.lines, sc.Text(), sendNo))
				}
			} else {
				li.alerts = append(li.alerts, sc.Text())
			}
		}
		switch prog {
		case "goqmaild":
			if strings.HasPrefix(text, "status: started in ") && supervisorKill >= 0 {
				// A new goqmaild after a kill: every program of the old
				// one is dead by now (they die with it), so the send from
				// here on is a new one, and the old one's deliveries
				// without a result never get one.
				li.kills[supervisorKill].until = li.lines
				supervisorKill = -1
				sendStart = li.lines
				sendNo++
				current = map[int]*delivery{}
			}
			if m := reRestart.FindStringSubmatch(text); m != nil {
				li.restarts[m[1]]++
				if m[1] == "queue" {
					queueDeath = li.lines
				}
				if m[1] == "send" {
					sendStart = li.lines
					// goqmaild logs this after send's exit: every line of
					// the old send is above it.
					sendNo++
					current = map[int]*delivery{}
				}
			}
		case markerProg:
			if m := reKill.FindStringSubmatch(text); m != nil {
				pid, _ := strconv.Atoi(m[2])
				li.kills = append(li.kills, logKill{line: li.lines, target: m[1], pid: pid, until: li.lines})
				if m[1] == "queue" || m[1] == "goqmaild" {
					queueDeath = li.lines
				}
				if m[1] == "goqmaild" {
					supervisorKill = len(li.kills) - 1
				}
			}
		case "queue":
			switch {
			case strings.Contains(text, "torn record"):
				li.torn++
			case strings.Contains(text, "moved to bad/"):
				li.badMoved++
			case strings.HasPrefix(text, "recover: dropped uncommitted"):
				li.tmpDropped++
			}
		case "send":
			if m := reInfo.FindStringSubmatch(text); m != nil {
				q, s := m[1], m[2]
				if !contains(li.senderQ[s], q) {
					li.senderQ[s] = append(li.senderQ[s], q)
				}
			} else if m := reStart.FindStringSubmatch(text); m != nil {
				seq, _ := strconv.Atoi(m[1])
				d := &delivery{send: sendNo, seq: seq, startLine: li.lines}
				current[seq] = d
				li.deliveries[m[2]] = append(li.deliveries[m[2]], d)
			} else if m := reResult.FindStringSubmatch(text); m != nil {
				seq, _ := strconv.Atoi(m[1])
				li.results[m[2]]++
				if strings.Contains(m[3], "Delivery process crashed") {
					li.crashed++
				}
				if strings.Contains(m[3], "lost connection to the local spawner") {
					li.spawnerCut++
				}
				if d := current[seq]; d != nil {
					d.endLine, d.result, d.text = li.lines, m[2], m[3]
					delete(current, seq)
				}
			}
		}
	}
	return li, sc.Err()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// killsBetween lists the kill markers strictly between two log lines.
func (li *logInfo) killsBetween(from, to int) []logKill {
	var ks []logKill
	for _, k := range li.kills {
		if k.until > from && k.line < to {
			ks = append(ks, k)
		}
	}
	return ks
}

// explainRedelivery says why queue message q was delivered copies times,
// or returns ok=false. At least once means a message may be delivered again
// only when a delivery's record was lost, and here only a kill can lose one.
// Each delivery but the last must have been cut off by a kill in its window:
//   - result deferral: a kill between its start and its result (the
//     delivery process died after the copy was in new/, before reporting);
//   - no result: a kill between its start and the next start (send died);
//   - success: a kill between its start and the next start (the queue or
//     send died before the message was marked done).
func (li *logInfo) explainRedelivery(q string, copies int) (string, bool) {
	ds := li.deliveries[q]
	if len(ds) < copies {
		return fmt.Sprintf("msg %s: %d copies but only %d deliveries started", q, copies, len(ds)), false
	}
	var why []string
	cut := 0 // deliveries cut off by a kill
	for i, d := range ds {
		res := d.result
		if res == "" {
			res = "no result"
		} else if res != "success" {
			res += " (" + d.text + ")"
		}
		if i+1 == len(ds) {
			why = append(why, fmt.Sprintf("then delivery %d of send #%d: %s", d.seq, d.send, res))
			break
		}
		end := ds[i+1].startLine
		if d.result != "" && d.result != "success" {
			end = d.endLine
		}
		ks := li.killsBetween(d.startLine, end)
		var names []string
		for j, k := range ks {
			if j == 3 {
				names = append(names, fmt.Sprintf("+%d more", len(ks)-3))
				break
			}
			names = append(names, fmt.Sprintf("%s pid %d", k.target, k.pid))
		}
		if len(ks) == 0 {
			names = []string{"by nothing"}
		} else {
			cut++
		}
		why = append(why, fmt.Sprintf("delivery %d of send #%d: %s, killed %s", d.seq, d.send, res, strings.Join(names, ", ")))
	}
	// Every copy but one needs a delivery whose record a kill lost.
	return "msg " + q + ": " + strings.Join(why, "; "), cut >= copies-1
}

// lastDelivery describes the last delivery of queue message q in the log.
func (li *logInfo) lastDelivery(q string) string {
	ds := li.deliveries[q]
	if len(ds) == 0 {
		return "no delivery started"
	}
	d := ds[len(ds)-1]
	res := d.result
	if res == "" {
		res = "no result"
	} else if res != "success" {
		res += " (" + d.text + ")"
	}
	return fmt.Sprintf("%d deliveries started, the last (delivery %d of send #%d): %s", len(ds), d.seq, d.send, res)
}
