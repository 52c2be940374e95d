package main

import "testing"

// An acknowledged message whose name recovery put in bad/ is a loss only if
// it was never delivered: after file reuse, the old name of a message
// delivered before the cut can survive pointing at another message's
// bytes, and recovery rightly quarantines it (seen on the fixed code).
func TestBadNameOfDeliveredMessageIsNoLoss(t *testing.T) {
	c := &campaign{o: pcOptions{seed: 1}, users: []string{"demo@example.test", "u1@example.test"}, next: 2}
	for _, qid := range []string{"aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"} {
		c.recs = append(c.recs, msgRecord{acked: 0, attempts: []attempt{{num: 1, outcome: outcomeAcked, qid: qid, dataSent: true}}})
	}
	res := newPCResult()
	for _, to := range c.to(0) {
		res.copy(0, to, 1) // message 0 was delivered, message 1 never
	}
	res.bad["aaaaaaaaaaaaaaaa"], res.badAcked["aaaaaaaaaaaaaaaa"] = "life 1: bad/aaaaaaaaaaaaaaaa", 0
	res.bad["bbbbbbbbbbbbbbbb"], res.badAcked["bbbbbbbbbbbbbbbb"] = "life 1: bad/bbbbbbbbbbbbbbbb", 1
	res.evaluate(c)
	if res.badDone != 1 || len(res.badLost) != 1 || len(res.lost) != 1 {
		t.Fatalf("badDone %d, badLost %v, lost %v; want 1, message 1's, message 1", res.badDone, res.badLost, res.lost)
	}
	if res.passed() {
		t.Fatal("a campaign that lost an acknowledged message to bad/ passed")
	}
	delete(res.badAcked, "bbbbbbbbbbbbbbbb")
	delete(res.bad, "bbbbbbbbbbbbbbbb")
	res2 := newPCResult()
	res2.copies, res2.bad, res2.badAcked = res.copies, res.bad, res.badAcked
	for _, to := range c.to(1) {
		res2.copy(1, to, 1)
	}
	res2.evaluate(c)
	if !res2.passed() || res2.badDone != 1 {
		t.Fatalf("both messages delivered, one old name in bad/: passed %v, badDone %d; want a pass and 1", res2.passed(), res2.badDone)
	}
}
