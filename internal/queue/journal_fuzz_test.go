package queue

import (
	"bytes"
	"testing"
)

// FuzzJournalSegment: whatever a segment holds after a power loss (torn
// records, an older lap, garbage), reading it never panics, returns only
// whole records in increasing sequence order, and replay hands recovery
// only images that verify as the message they name.
func FuzzJournalSegment(f *testing.F) {
	j := newFuzzSegment()
	if n := len(parseSegment(j)); n != 3 {
		f.Fatalf("the seed segment reads as %d records, want 3", n)
	}
	f.Add(j)
	f.Add(j[:len(j)-7])
	f.Add(append(append([]byte(nil), j...), j[:60]...))
	f.Add(make([]byte, 64))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs := parseSegment(data)
		var prev uint64
		for _, r := range recs {
			if r.seq <= prev || (r.typ != jrecMsg && r.typ != jrecDone) {
				t.Fatalf("record seq %d after %d, type %q", r.seq, prev, r.typ)
			}
			prev = r.seq
		}
		rp := replay(recs)
		for id, img := range rp.live {
			if !validID(id) || Verify(bytes.NewReader(img), id, int64(len(img))) != nil || rp.done[id] {
				t.Fatalf("replay hands back msg %q that does not verify or is done", id)
			}
		}
	})
}

// newFuzzSegment is a segment with two message records and a done record.
func newFuzzSegment() []byte {
	var seg []byte
	seq := uint64(0)
	add := func(typ byte, payload []byte) {
		seq++
		rec := append(make([]byte, jrecHeader), payload...)
		h := rec[:jrecHeader]
		copy(h, journalMagic)
		h[4] = typ
		putRecordHeader(h, seq, len(payload), Checksum(0, payload))
		seg = append(seg, rec...)
	}
	add(jrecMsg, testImage(testID(1), 300))
	add(jrecMsg, testImage(testID(2), 10))
	add(jrecDone, []byte(testID(1)))
	return seg
}
