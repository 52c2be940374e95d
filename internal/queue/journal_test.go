package queue

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"goqmail/internal/durable"
	"goqmail/internal/logline"
)

// testImage is a whole message file for id, as the queue writes it.
func testImage(id string, n int) []byte {
	env := &Envelope{Birth: 1, Sender: "a@example.org", Rcpts: []string{"b@example.org"}}
	return env.MarshalFile(id, bytes.Repeat([]byte(id[len(id)-1:]), n), nil)
}

func testID(i int) string { return fmt.Sprintf("%016x", 0x1000+i) }

// newTestJournal is an empty journal of small segments whose retirements
// are recorded.
func newTestJournal(t *testing.T, segSize int64) (*journal, *[][]string) {
	t.Helper()
	j, recs, err := openJournal(filepath.Join(t.TempDir(), "journal"), segSize, true)
	if err != nil || len(recs) != 0 {
		t.Fatalf("open: %v %v", recs, err)
	}
	if err := j.reset(0); err != nil {
		t.Fatal(err)
	}
	var retired [][]string
	j.retire = func(ids []string) error { retired = append(retired, ids); return nil }
	t.Cleanup(j.close)
	return j, &retired
}

func commitImage(t *testing.T, j *journal, id string, img []byte) {
	t.Helper()
	rec := append(make([]byte, jrecHeader), img...)
	if err := j.commitMsg(id, rec, func() error { return nil }); err != nil {
		t.Fatal(err)
	}
}

// readBack is what recovery would read from the journal's directory.
func readBack(t *testing.T, j *journal) journalReplay {
	t.Helper()
	j2, recs, err := openJournal(j.dir, j.segSize, false)
	if err != nil {
		t.Fatal(err)
	}
	j2.close()
	return replay(recs)
}

func TestJournalReplaysQueuedAndDone(t *testing.T) {
	j, _ := newTestJournal(t, 1<<20)
	imgs := map[string][]byte{}
	for i := 0; i < 3; i++ {
		imgs[testID(i)] = testImage(testID(i), 1000+i)
		commitImage(t, j, testID(i), imgs[testID(i)])
	}
	j.done(testID(1))
	j.done(testID(7)) // never recorded: no record
	r := readBack(t, j)
	if len(r.live) != 2 || !bytes.Equal(r.live[testID(0)], imgs[testID(0)]) || !bytes.Equal(r.live[testID(2)], imgs[testID(2)]) {
		t.Fatalf("live %d messages, want the images of 0 and 2", len(r.live))
	}
	if len(r.done) != 1 || !r.done[testID(1)] || r.maxSeq != 4 || r.bad != 0 {
		t.Fatalf("done %v, maxSeq %d, bad %d", r.done, r.maxSeq, r.bad)
	}
}

// A torn last record, and an older lap's whole record after the new lap's
// end, are not read.
func TestJournalStopsAtTornOrOlderRecord(t *testing.T) {
	j, _ := newTestJournal(t, 1<<20)
	for i := 0; i < 3; i++ {
		commitImage(t, j, testID(i), testImage(testID(i), 500))
	}
	data, err := os.ReadFile(j.segPath(0))
	if err != nil {
		t.Fatal(err)
	}
	recs := parseSegment(data)
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3", len(recs))
	}
	end := int(j.off)
	first := data[:jrecHeader+len(recs[0].payload)]

	older := append(append([]byte(nil), data[:end]...), first...) // record 1 again: its sequence number is lower
	if got := parseSegment(older); len(got) != 3 {
		t.Errorf("an older record after the end was read: %d records", len(got))
	}
	for _, cut := range []int{end - 1, end - len(recs[2].payload)/2, end - len(recs[2].payload) - 3} {
		torn := append([]byte(nil), data[:cut]...)
		if got := parseSegment(torn); len(got) != 2 {
			t.Errorf("torn at %d: %d records, want 2", cut, len(got))
		}
	}
	flipped := append([]byte(nil), data...)
	flipped[end-10] ^= 1
	if got := parseSegment(flipped); len(got) != 2 {
		t.Errorf("a flipped bit in the last record: %d records, want 2", len(got))
	}
	if got := parseSegment(make([]byte, 4096)); len(got) != 0 {
		t.Errorf("zeros: %d records", len(got))
	}
}

// The ring: before a segment is reused, the messages it recorded that are
// still queued are retired (made durable on their own), finished ones are
// not, and the retired ones are no longer in the journal.
func TestJournalRetiresBeforeReuse(t *testing.T) {
	img := testImage(testID(0), 3000)
	recLen := int64(jrecHeader + len(img))
	j, retired := newTestJournal(t, 3*recLen+100) // 3 messages a segment
	for i := 0; i < 3*JournalSegments; i++ {
		commitImage(t, j, testID(i), testImage(testID(i), 3000))
		if i == 1 {
			j.done(testID(1)) // a small record: still 3 images a segment
		}
	}
	if len(*retired) != 0 {
		t.Fatalf("retired before the ring was full: %v", *retired)
	}
	commitImage(t, j, testID(100), testImage(testID(100), 3000))
	if len(*retired) != 1 || strings.Join((*retired)[0], ",") != testID(0)+","+testID(2) {
		t.Fatalf("retired %v, want messages 0 and 2 (1 is done)", *retired)
	}
	r := readBack(t, j)
	for _, id := range []string{testID(0), testID(1), testID(2)} {
		if _, ok := r.live[id]; ok {
			t.Errorf("msg %s still in the journal after its segment was retired", id)
		}
	}
	if _, ok := r.live[testID(100)]; !ok || len(r.live) != 3*JournalSegments-3+1 {
		t.Errorf("%d live records, want the last %d", len(r.live), 3*JournalSegments-3+1)
	}
	// A retirement that fails turns the journal off: commits then use
	// their own fsync, and the records stay for recovery.
	j.retire = func([]string) error { return os.ErrPermission }
	for i := 200; i < 204 && j.usable(); i++ {
		rec := append(make([]byte, jrecHeader), testImage(testID(i), 3000)...)
		j.commitMsg(testID(i), rec, func() error { return nil })
	}
	if j.usable() {
		t.Fatal("journal still on after a failed retirement")
	}
}

// The whole recovery: after a power loss msg/ may lack a message, hold it
// torn, hold another message (a reused file), or hold one that was
// finished. Recovery puts the queued ones back byte for byte, removes the
// finished one's name and empties the journal.
func TestRecoverPutsMessagesBackFromJournal(t *testing.T) {
	root := t.TempDir()
	q := startQueue(t, root)
	var ids []string
	orig := map[string][]byte{}
	for i := 0; i < 5; i++ {
		res := submit(t, q.submit, "a@example.org", []string{fmt.Sprintf("r%d@example.org", i)}, fmt.Sprintf("Subject: %d\n\n%s\n", i, strings.Repeat("x", 100*i)))
		if !res.OK {
			t.Fatalf("commit: %+v\n%s", res, q.logs)
		}
		ids = append(ids, res.ID)
		b, err := os.ReadFile(q.s.Layout.Msg(res.ID))
		if err != nil {
			t.Fatal(err)
		}
		orig[res.ID] = b
	}
	// ids[4] is delivered and its file reused for ... nothing yet; its
	// name comes back after the power loss.
	q.s.remove(ids[4])
	if _, err := os.Stat(q.s.Layout.Msg(ids[4])); !os.IsNotExist(err) {
		t.Fatalf("remove left msg/%s: %v", ids[4], err)
	}
	q.s.Close()

	l := q.s.Layout
	os.Remove(l.Msg(ids[0]))                              // the name never reached the disk
	os.WriteFile(l.Msg(ids[1]), orig[ids[1]][:40], 0o640) // torn
	os.WriteFile(l.Msg(ids[2]), orig[ids[3]], 0o640)      // a reused file's old name, another message's content
	os.WriteFile(l.Msg(ids[4]), orig[ids[4]], 0o640)      // finished, but its name came back

	logs := &bytes.Buffer{}
	s2 := &Server{Layout: l, Log: logline.NewTo(logs, "queue"), SendUID: -1}
	if err := s2.Start(); err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	for _, id := range ids[:4] {
		got, err := os.ReadFile(l.Msg(id))
		if err != nil || !bytes.Equal(got, orig[id]) {
			t.Errorf("msg %s after recovery: %d bytes (%v), want its %d original bytes\n%s", id, len(got), err, len(orig[id]), logs)
		}
		if !s2.known(id) {
			t.Errorf("msg %s not in the queue's index", id)
		}
	}
	if _, err := os.Stat(l.Msg(ids[4])); !os.IsNotExist(err) || s2.known(ids[4]) {
		t.Errorf("finished msg %s came back: %v", ids[4], err)
	}
	if ents, _ := os.ReadDir(l.BadDir()); len(ents) != 0 {
		t.Errorf("bad/ holds %d files; the journal had every message", len(ents))
	}
	for _, want := range []string{"msg " + ids[0] + " put back from the queue journal", "msg " + ids[1] + " put back", "msg " + ids[2] + " put back", "msg/" + ids[4] + " removed", "4 queued messages recorded (3 put back), 1 finished"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	if r := readBack(t, s2.journal); len(r.live)+len(r.done) != 0 {
		t.Errorf("journal not emptied after recovery: %d live, %d done", len(r.live), len(r.done))
	}
}

// A message larger than the journal takes is committed with its own fsync
// and never recorded (a queue in another syncmode: TestOtherSyncmodeAppliesAndRemovesJournal).
func TestJournalSkipsLargeMessages(t *testing.T) {
	root := t.TempDir()
	q := startQueue(t, root)
	big := submit(t, q.submit, "a@example.org", []string{"b@example.org"}, "Subject: big\n\n"+strings.Repeat("y", journalMaxImage)+"\n")
	small := submit(t, q.submit, "a@example.org", []string{"b@example.org"}, "Subject: small\n\nhi\n")
	if !big.OK || !small.OK {
		t.Fatalf("%+v %+v\n%s", big, small, q.logs)
	}
	deadline := time.Now().Add(time.Second)
	r := readBack(t, q.s.journal)
	for len(r.live) < 1 && time.Now().Before(deadline) {
		r = readBack(t, q.s.journal)
	}
	if _, ok := r.live[small.ID]; !ok || len(r.live) != 1 {
		t.Fatalf("journal holds %d messages, want only the small one", len(r.live))
	}
	if err := verifyFile(q.s.Layout.Msg(big.ID), big.ID); err != nil {
		t.Fatal(err)
	}
}

// Entering a segment copies the queued messages of the next one (the
// oldest) forward, up to half a segment: at that segment's reuse only the
// rest needs an fsync. Every queued message is either in the journal, as
// committed, or was retired; with messages that stay queued a little
// longer than a lap, copying forward retires fewer.
func TestJournalCopiesForward(t *testing.T) {
	img := testImage(testID(0), 3000)
	recLen := int64(jrecHeader + len(img))
	retiredWith := func(copyForward bool) int {
		j, retired := newTestJournal(t, 6*recLen+100) // 6 messages a segment, 3 copied forward
		imgs := map[string][]byte{}
		if copyForward {
			j.image = func(id string) ([]byte, error) {
				if b, ok := imgs[id]; ok {
					return b, nil
				}
				return nil, os.ErrNotExist
			}
		}
		const n, wait = 90, 28 // each message is finished 28 commits later; the ring holds 24
		done := map[string]bool{}
		for i := 0; i < n; i++ {
			imgs[testID(i)] = testImage(testID(i), 3000)
			commitImage(t, j, testID(i), imgs[testID(i)])
			if i >= wait {
				j.done(testID(i - wait))
				done[testID(i-wait)] = true
			}
		}
		out := map[string]bool{}
		for _, ids := range *retired {
			for _, id := range ids {
				if out[id] {
					t.Errorf("msg %s retired twice", id)
				}
				out[id] = true
			}
		}
		r := readBack(t, j)
		for i := 0; i < n; i++ {
			id := testID(i)
			got, in := r.live[id]
			if done[id] {
				if in {
					t.Errorf("msg %d: finished, but still read from the journal", i)
				}
				continue
			}
			if in && !bytes.Equal(got, imgs[id]) {
				t.Errorf("msg %d: the journal holds other bytes", i)
			}
			if in == out[id] {
				t.Errorf("msg %d: in the journal %v, retired %v: want exactly one", i, in, out[id])
			}
		}
		for i := range j.files {
			if st, err := os.Stat(j.segPath(i)); err != nil || st.Size() != j.segSize {
				t.Errorf("segment %d: %v bytes (%v), want %d: a record went past its end", i, st.Size(), err, j.segSize)
			}
		}
		if copyForward != (j.copied > 0) {
			t.Errorf("copy forward %v: %d copied", copyForward, j.copied)
		}
		return len(out)
	}
	with, without := retiredWith(true), retiredWith(false)
	if with >= without {
		t.Errorf("%d retired with copying forward, %d without: want fewer", with, without)
	}
	t.Logf("90 messages, each queued for 28 commits, a ring of 24: %d retired with copying forward, %d without", with, without)
}

// A journal that holds nothing and cannot be made does not stop the
// queue: it commits with fsync and says so. One that holds records and
// cannot be emptied stops the start (its records would bring finished
// messages back later).
func TestJournalThatCannotBeMade(t *testing.T) {
	root := t.TempDir()
	l := Layout{Root: root}
	if err := l.Make(); err != nil {
		t.Fatal(err)
	}
	// Standing in for a full disk: a segment size reset refuses.
	logs := &bytes.Buffer{}
	s := &Server{Layout: l, Log: logline.NewTo(logs, "queue"), SendUID: -1, JournalSegSize: 1 << 62}
	if err := s.Start(); err != nil {
		t.Fatalf("start refused: %v", err)
	}
	defer s.Close()
	if s.journal != nil || !strings.Contains(logs.String(), "alert: queue journal: segment size 4611686018427387904 is out of range") || !strings.Contains(logs.String(), "files made durable with fsync, the journal could not be made") {
		t.Fatalf("journal %v; log:\n%s", s.journal != nil, logs)
	}
}

// A queue started in another syncmode applies the journal a journal-mode
// run left, then removes it; with no journal (or an empty directory, as
// goqmail init makes it) it just starts.
func TestOtherSyncmodeAppliesAndRemovesJournal(t *testing.T) {
	root := t.TempDir()
	q := startQueue(t, root)
	res := submit(t, q.submit, "a@example.org", []string{"b@example.org"}, "Subject: j\n\nhi\n")
	if !res.OK {
		t.Fatalf("%+v\n%s", res, q.logs)
	}
	orig, _ := os.ReadFile(q.s.Layout.Msg(res.ID))
	q.s.Close()
	os.Remove(q.s.Layout.Msg(res.ID)) // the power loss took the name
	for i := 0; i < 2; i++ {
		logs := &bytes.Buffer{}
		s := &Server{Layout: q.s.Layout, Log: logline.NewTo(logs, "queue"), SendUID: -1}
		s.Durable.Mode = durable.Fsync
		if err := s.Start(); err != nil {
			t.Fatalf("start %d in fsync mode: %v\n%s", i, err, logs)
		}
		s.Close()
		if got, err := os.ReadFile(q.s.Layout.Msg(res.ID)); err != nil || !bytes.Equal(got, orig) {
			t.Fatalf("start %d: msg not put back (%v)\n%s", i, err, logs)
		}
		if ents, err := os.ReadDir(q.s.Layout.JournalDir()); err != nil || len(ents) != 0 {
			t.Fatalf("start %d: journal directory holds %d files (%v)", i, len(ents), err)
		}
	}
}

// Copying forward leaves room for the record that made the writer move:
// a segment never grows past its size.
func TestJournalCopyForwardLeavesRoom(t *testing.T) {
	const segSize = 20 << 10
	j, _ := newTestJournal(t, segSize)
	imgs := map[string][]byte{}
	j.image = func(id string) ([]byte, error) { return imgs[id], nil }
	for i := 0; i < 4*19; i++ { // the ring full of small queued messages
		imgs[testID(i)] = testImage(testID(i), 900)
		commitImage(t, j, testID(i), imgs[testID(i)])
	}
	big := testImage(testID(999), 14<<10)
	commitImage(t, j, testID(999), big)
	for i := range j.files {
		if st, err := os.Stat(j.segPath(i)); err != nil || st.Size() != segSize {
			t.Errorf("segment %d: %v bytes (%v), want %d", i, st.Size(), err, segSize)
		}
	}
	if r := readBack(t, j); !bytes.Equal(r.live[testID(999)], big) || j.copied == 0 {
		t.Errorf("the large record is not in the journal (%d copied forward)", j.copied)
	}
}

// Record buffers go from one message to the next (jbufs): a small message
// committed after a big one is recorded as exactly its own file, with
// nothing of the big one's tail, and so is every message of a mixed run.
func TestJournalRecordsAfterABigMessage(t *testing.T) {
	root := t.TempDir()
	q := startQueue(t, root)
	var ids []string
	for i, body := range []string{strings.Repeat("big line\n", 20000), "hi\n", strings.Repeat("z", 70000) + "\n", "", "x\n"} {
		r := submit(t, q.submit, "a@example.org", []string{"b@example.org"}, fmt.Sprintf("Subject: %d\n\n%s", i, body))
		if !r.OK {
			t.Fatalf("message %d: %+v\n%s", i, r, q.logs)
		}
		ids = append(ids, r.ID)
	}
	r := readBack(t, q.s.journal)
	for i, id := range ids {
		file, err := os.ReadFile(q.s.Layout.Msg(id))
		if err != nil {
			t.Fatal(err)
		}
		if img, ok := r.live[id]; !ok || !bytes.Equal(img, file) {
			t.Errorf("message %d: journal image of %d bytes (recorded %v), file of %d: they differ", i, len(img), ok, len(file))
		}
	}
}
