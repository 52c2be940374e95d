package crashfs

import (
	"fmt"
	"math/rand/v2"
)

// pageSize is the unit a pending write survives or is lost in: a write
// spanning several pages may come back with some of them only (torn), as
// the page cache writes pages back independently.
const pageSize = 4096

// CutStats is what a power cut did to the operations that were not yet
// durable.
type CutStats struct {
	Pending int     // operations not durable at the cut
	Keep    float64 // the probability each of them had to survive
	Applied int     // survived whole
	Lost    int     // did not survive (not chosen, or needed one that did not)
	Torn    int     // writes of which some pages survived and some did not
	Dropped int     // chosen, but their preconditions no longer held
}

func (c CutStats) String() string {
	return fmt.Sprintf("%d pending (keep %.2f): %d applied, %d lost, %d torn, %d dropped", c.Pending, c.Keep, c.Applied, c.Lost, c.Torn, c.Dropped)
}

// cut computes what a power loss leaves: the durable image plus a random
// subset of the pending operations, applied in their original order. The
// subset is closed under dependencies (an operation survives only if every
// pending operation it needs does), so no name survives that could not
// have reached the disk; between independent operations anything goes: a
// rename may survive while the writes to the file it names do not, a later
// write while an earlier one is lost. Writes survive page by page.
//
// Each cut draws a keep probability: 0 (nothing pending survives) or 1
// (everything does) one time in ten each, else uniform in (0, 1). The
// draws come from r alone, in log order, so the same log and seed give the
// same image. cut consumes the model's durable image.
func (m *model) cut(r *rand.Rand) (*Image, CutStats) {
	var st CutStats
	switch x := r.IntN(10); {
	case x == 0:
		st.Keep = 0
	case x == 1:
		st.Keep = 1
	default:
		st.Keep = r.Float64()
	}
	img := m.dur
	survived := map[uint64]bool{}
	for _, s := range m.order {
		o, ok := m.pending[s]
		if !ok {
			continue
		}
		st.Pending++
		if o.kind == opWrite {
			m.cutWrite(img, o, r, &st)
			continue
		}
		keep := r.Float64() < st.Keep
		for _, d := range o.deps {
			if _, pending := m.pending[d]; pending && !survived[d] {
				keep = false
			}
		}
		if !keep {
			st.Lost++
			continue
		}
		if err := apply(img, o); err != nil {
			st.Dropped++
			continue
		}
		survived[s] = true
		st.Applied++
	}
	img.collect()
	return img, st
}

// cutWrite applies the pages of a pending write that survive.
func (m *model) cutWrite(img *Image, o *op, r *rand.Rand, st *CutStats) {
	n := img.inodes[o.ino]
	kept, lost := 0, 0
	for off := int64(0); off < int64(len(o.data)); {
		// Pages are aligned on the file offset, as in the page cache.
		end := min((o.off+off)/pageSize*pageSize+pageSize-o.off, int64(len(o.data)))
		if r.Float64() < st.Keep && n != nil {
			n.writeAt(o.off+off, o.data[off:end])
			n.mtime = o.time
			kept++
		} else {
			lost++
		}
		off = end
	}
	switch {
	case len(o.data) == 0 || lost == 0:
		st.Applied++
	case kept == 0:
		st.Lost++
	default:
		st.Torn++
	}
}
