package queue

// The queue journal: how a commit becomes durable in syncmode journal (the
// default), issue 12 item 3.
//
// Every commit used to pay for its own file: an fsync of msg/ID's content
// (on ext4 a data write, an inode write and often bitmaps, then a cache
// flush) and a share of an fsync of msg/. Here a commit writes its file as
// before but does not sync it; instead the whole file image is appended as
// one record to a preallocated segment file, and one fdatasync(2) of that
// segment, shared by every commit that arrives while it runs (group
// commit, as databases do with their write-ahead log), makes it durable.
// Only then is the file renamed to msg/ID (unsynced) and the client
// answered. A preallocated segment needs no block allocation at
// fdatasync: the data's write request and one flush for a whole group of
// messages. On the first lap of a new journal each fdatasync also writes
// the inode, because fallocate(2) leaves the blocks "unwritten" and the
// first write into them changes the extent tree (measured on ext4: one
// metadata write per fdatasync until the ring has gone round once).
//
// msg/ID's own bytes and name reach the disk later, by the kernel's
// writeback, or never: most messages are delivered and their file reused
// before that. A power loss can therefore leave msg/ID missing, empty,
// torn or holding another message (a reused file). Recovery
// (recoverJournal) puts back from the journal every message that has a
// record and no "done" record, writing a new file that is fsynced before
// its rename, and then makes every such message durable on its own before
// it clears the journal. So a name may point at content that is not on
// stable storage only while the journal holds that content, and nothing
// reads a name after a power loss before recovery has checked it.
//
// Segments are a ring. When the writer enters a segment it copies the
// images of the messages still queued in the next one (the oldest) to
// the new one, up to half a segment: a lap of the ring (4 segments of
// 16 MB, about 14,000 messages of 4 kB) rewrites the backlog once, with
// the same shared fdatasync as new commits. Before the writer moves into
// the oldest segment again it retires it: what was not copied forward
// gets its own fsync (and msg/ one), then the segment's head is zeroed
// and synced.
//
// A record:
//
//	offset 0   "GQJ1"
//	offset 4   type: 'M' a message file's image, 'D' a message is done
//	offset 5   3 bytes zero
//	offset 8   uint64 sequence number, increasing over the whole ring
//	offset 16  uint32 payload length
//	offset 20  uint32 CRC-32C of the payload, then bytes 4-19
//	offset 24  payload: 'M' the message file exactly as in msg/ID (which
//	           carries its own id and checksum), 'D' the 16-byte id
//
// Reading a segment stops at the first record that is not whole (a zero
// head, a torn tail, the rest of an older lap) or whose sequence number is
// not above the previous one's (an older lap's record that happens to
// start where the new lap's records end).

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
	"goqmail/internal/dirsync"
)

const (
	journalMagic      = "GQJ1"
	jrecHeader        = 24
	jrecMsg      byte = 'M'
	jrecDone     byte = 'D'
	// JournalSegments and JournalSegmentSize shape the ring (64 MB on
	// disk, allocated when the journal is made).
	JournalSegments    = 4
	JournalSegmentSize = 16 << 20
	// journalMaxImage: larger messages are committed with their own fsync
	// (they would fill a segment in a few commits, and their own write is
	// large anyway).
	journalMaxImage = freeMaxBytes
	journalHead     = 4096 // bytes zeroed to empty a segment
)

// errJournalOff says the journal cannot be used (an earlier write or sync
// failed): commits fall back to their own fsync until a restart.
var errJournalOff = errors.New("queue journal is off")

type journal struct {
	dir     string
	segSize int64
	files   [JournalSegments]*os.File
	group   dirsync.Syncer // group commit of the segments' fdatasync

	mu              sync.Mutex
	cur             int   // segment being written
	off             int64 // next record's offset in it
	seq             uint64
	live            [JournalSegments]map[string]struct{} // messages recorded in each segment and not done
	gen             [JournalSegments]uint64              // counts each segment's retirements
	copied, retired uint64                               // messages copied forward, fsynced at retirement
	where           map[string]int
	// syncMu makes the segments' fdatasyncs one at a time; failed turns
	// the journal off after any write, sync or retirement error (fail,
	// datasync). Both are used without j.mu.
	syncMu sync.Mutex
	failed atomic.Bool
	// retire makes queued messages durable on their own, before the
	// segment that holds their records is reused.
	retire func(ids []string) error
	// image reads a queued message's file, checked (copyForwardLocked).
	image func(id string) ([]byte, error)
	logf  func(format string, args ...any) // nil: no log
}

// jrec is a record read back from the journal.
type jrec struct {
	typ     byte
	seq     uint64
	payload []byte
}

func (j *journal) segPath(i int) string { return filepath.Join(j.dir, strconv.Itoa(i)) }

// openJournal opens (create: makes) the segments and reads the records
// they hold, in sequence order. It does not change them.
func openJournal(dir string, segSize int64, create bool) (*journal, []jrec, error) {
	j := &journal{dir: dir, segSize: segSize, where: map[string]int{}}
	if create {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, nil, fmt.Errorf("queue journal: %w", err)
		}
	}
	var recs []jrec
	for i := range j.files {
		flags := os.O_RDWR
		if create {
			flags |= os.O_CREATE
		}
		f, err := os.OpenFile(j.segPath(i), flags|unix.O_NOFOLLOW, 0o600)
		if !create && os.IsNotExist(err) {
			continue // a queue in another syncmode: nothing to read
		}
		if err != nil {
			j.close()
			return nil, nil, fmt.Errorf("queue journal: %w", err)
		}
		j.files[i] = f
		st, err := f.Stat()
		var seg []jrec
		if err == nil {
			seg, err = readSegment(f, st.Size())
		}
		if err != nil {
			j.close()
			return nil, nil, fmt.Errorf("queue journal: read %s: %w", f.Name(), err)
		}
		recs = append(recs, seg...)
		j.live[i] = map[string]struct{}{}
	}
	sort.Slice(recs, func(a, b int) bool { return recs[a].seq < recs[b].seq })
	return j, recs, nil
}

func (j *journal) close() {
	for i, f := range j.files {
		if f != nil {
			f.Close()
			j.files[i] = nil
		}
	}
}

// parseSegment returns the whole records at the start of a segment's
// bytes.
func parseSegment(data []byte) []jrec {
	recs, _ := readSegment(bytes.NewReader(data), int64(len(data)))
	return recs
}

// readSegment reads the whole records at the start of a segment of size
// bytes, one record at a time: a segment is mostly a zeroed or older tail
// that is never read. Only a failed read is an error; whatever does not
// make a whole record ends the segment.
func readSegment(r io.ReaderAt, size int64) ([]jrec, error) {
	var out []jrec
	var prev uint64
	h := make([]byte, jrecHeader)
	for off := int64(0); size-off >= jrecHeader; {
		if _, err := r.ReadAt(h, off); err != nil {
			return out, err
		}
		if string(h[:4]) != journalMagic || (h[4] != jrecMsg && h[4] != jrecDone) || h[5]|h[6]|h[7] != 0 {
			break
		}
		seq := binary.BigEndian.Uint64(h[8:])
		n := int64(binary.BigEndian.Uint32(h[16:]))
		if n > size-off-jrecHeader || seq <= prev {
			break
		}
		payload := make([]byte, n)
		if _, err := r.ReadAt(payload, off+jrecHeader); err != nil && !(err == io.EOF && off+jrecHeader+n == size) {
			return out, err
		}
		if recordCRC(h, payload) != binary.BigEndian.Uint32(h[20:]) {
			break
		}
		out = append(out, jrec{typ: h[4], seq: seq, payload: payload})
		prev = seq
		off += jrecHeader + n
	}
	return out, nil
}

// putRecordHeader fills in a record header whose magic and type are set:
// sequence number, payload length and the CRC (pcrc: the payload's).
func putRecordHeader(h []byte, seq uint64, n int, pcrc uint32) {
	binary.BigEndian.PutUint64(h[8:], seq)
	binary.BigEndian.PutUint32(h[16:], uint32(n))
	binary.BigEndian.PutUint32(h[20:], Checksum(pcrc, h[4:20]))
}

// recordCRC is CRC-32C of the payload, then of the header's type,
// padding, sequence number and length.
func recordCRC(h, payload []byte) uint32 {
	return Checksum(Checksum(0, payload), h[4:20])
}

// reset empties every segment (zeroes its head) and makes that durable.
// A segment that is new or of another size is first allocated whole
// (fallocate(2), or zeros where the file system has no fallocate), so
// that writing into it later allocates no blocks. The next record gets
// sequence number seq+1. Called once recovery made every recorded
// message durable on its own.
func (j *journal) reset(seq uint64) error {
	if j.segSize < journalHead || j.segSize > 1<<30 {
		return fmt.Errorf("queue journal: segment size %d is out of range (4 kB to 1 GB)", j.segSize)
	}
	zero := make([]byte, journalHead)
	for _, f := range j.files {
		st, err := f.Stat()
		if err != nil {
			return fmt.Errorf("queue journal: %w", err)
		}
		if st.Size() != j.segSize || st.Sys().(*syscall.Stat_t).Blocks*512 < j.segSize {
			if err := allocate(f, j.segSize); err != nil {
				return fmt.Errorf("queue journal: allocate %s: %w", f.Name(), err)
			}
		}
		if _, err := f.WriteAt(zero, 0); err != nil {
			return fmt.Errorf("queue journal: write %s: %w", f.Name(), err)
		}
		if err := fdatasync(f); err != nil {
			return fmt.Errorf("queue journal: %w", err)
		}
	}
	// The segments' names, and the journal directory's own name in
	// queue/: a journal made at this start must survive a power loss
	// before the first commit relies on it.
	for _, d := range []string{j.dir, filepath.Dir(j.dir)} {
		if err := dirsync.Dir(d); err != nil {
			return fmt.Errorf("queue journal: %w", err)
		}
	}
	j.cur, j.off, j.seq = 0, 0, seq
	return nil
}

// allocate makes f size bytes long with every block allocated.
func allocate(f *os.File, size int64) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	err := unix.Fallocate(int(f.Fd()), 0, 0, size)
	if err == nil {
		return nil
	}
	if err != unix.EOPNOTSUPP && err != unix.ENOSYS {
		return err
	}
	zero := make([]byte, 1<<20)
	for off := int64(0); off < size; off += int64(len(zero)) {
		if _, err := f.WriteAt(zero[:min(int64(len(zero)), size-off)], off); err != nil {
			return err
		}
	}
	return nil
}

// usable says whether commits may go through the journal.
func (j *journal) usable() bool {
	return j != nil && !j.failed.Load()
}

// takes says whether a record of n bytes may go through the journal.
func (j *journal) takes(n int) bool { return j.usable() && int64(n) <= j.segSize }

// commitMsg appends message id's file image, held in rec after
// jrecHeader bytes of room, waits until it is on stable storage, and then
// calls name (the rename into msg/): a name in msg/ never exists before
// the journal holds its content, so whatever a power loss leaves under it
// recovery can check against the journal.
func (j *journal) commitMsg(id string, rec []byte, name func() error) error {
	payload := rec[jrecHeader:]
	pcrc := Checksum(0, payload)
	j.mu.Lock()
	if err := j.appendLocked(jrecMsg, rec, pcrc); err != nil {
		j.mu.Unlock()
		return err
	}
	seg, gen := j.cur, j.gen[j.cur]
	j.mu.Unlock()
	if err := j.group.Do("journal", j.syncCurrent); err != nil {
		j.fail()
		return err
	}
	if err := name(); err != nil {
		// The record is durable: say the message is finished, so that
		// recovery does not put back what the client was refused.
		j.mu.Lock()
		j.appendDoneLocked(id)
		j.mu.Unlock()
		return err
	}
	j.mu.Lock()
	if j.gen[seg] == gen {
		j.live[seg][id] = struct{}{}
		j.where[id] = seg
		j.mu.Unlock()
		return nil
	}
	j.mu.Unlock()
	// The ring went all the way round while this commit waited, and the
	// segment that holds its record was retired without it: the message
	// must be durable on its own before it is acknowledged.
	return j.retire([]string{id})
}

// done records that message id is finished (delivered, bounced or
// deleted), so that recovery does not put it back. The record is not
// synced by itself: it goes to the disk with the next commit's. Lost in a
// power loss, it means one more delivery of a finished message, as a lost
// rename out of msg/ does without a journal.
func (j *journal) done(id string) {
	if j == nil {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	seg, ok := j.where[id]
	if !ok {
		return
	}
	delete(j.live[seg], id)
	delete(j.where, id)
	j.appendDoneLocked(id)
}

// appendDoneLocked appends a done record for id (best effort: a lost one
// means one more delivery after a power loss). j.mu is held.
func (j *journal) appendDoneLocked(id string) {
	rec := make([]byte, jrecHeader, jrecHeader+len(id))
	rec = append(rec, id...)
	j.appendLocked(jrecDone, rec, Checksum(0, rec[jrecHeader:]))
}

// appendLocked writes a record (payload after jrecHeader bytes of room,
// its CRC pcrc) at the end of the current segment, moving to the next one
// when it does not fit. j.mu is held.
func (j *journal) appendLocked(typ byte, rec []byte, pcrc uint32) error {
	if j.failed.Load() {
		return errJournalOff
	}
	if int64(len(rec)) > j.segSize {
		return fmt.Errorf("queue journal: a record of %d bytes does not fit a segment", len(rec))
	}
	if j.off+int64(len(rec)) > j.segSize {
		if err := j.rotateLocked(int64(len(rec))); err != nil {
			j.fail()
			return err
		}
	}
	j.seq++
	h := rec[:jrecHeader]
	copy(h, journalMagic)
	h[4], h[5], h[6], h[7] = typ, 0, 0, 0
	putRecordHeader(h, j.seq, len(rec)-jrecHeader, pcrc)
	if _, err := j.files[j.cur].WriteAt(rec, j.off); err != nil {
		err = fmt.Errorf("queue journal: write: %w", err)
		j.fail()
		return err
	}
	j.off += int64(len(rec))
	return nil
}

// rotateLocked moves the writer to the next segment, keeping reserve
// bytes free in it for the record that asked for the move. The current one is
// synced first: commits waiting for the group's fdatasync have records in
// it, and that fdatasync will sync the new current segment. The next
// segment is retired before it is reused.
func (j *journal) rotateLocked(reserve int64) error {
	if err := j.datasync(j.files[j.cur]); err != nil {
		return err
	}
	next := (j.cur + 1) % len(j.files)
	copied, retired := j.copied, j.retired
	defer func() {
		if j.logf != nil && (j.copied > copied || j.retired > retired) {
			j.logf("journal: segment %d reused: %d queued messages fsynced on their own, %d copied forward from the next segment", next, j.retired-retired, j.copied-copied)
		}
	}()
	if len(j.live[next]) > 0 {
		ids := make([]string, 0, len(j.live[next]))
		for id := range j.live[next] {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		if err := j.retire(ids); err != nil {
			return fmt.Errorf("queue journal: making %d queued messages durable before reusing a segment: %w", len(ids), err)
		}
		j.retired += uint64(len(ids))
		for _, id := range ids {
			delete(j.where, id)
		}
		j.live[next] = map[string]struct{}{}
	}
	j.gen[next]++
	f := j.files[next]
	if _, err := f.WriteAt(make([]byte, journalHead), 0); err != nil {
		return fmt.Errorf("queue journal: %w", err)
	}
	if err := j.datasync(f); err != nil {
		return err
	}
	j.cur, j.off = next, 0
	j.copyForwardLocked(min(j.segSize/2, j.segSize-reserve))
	return nil
}

// copyForwardLocked appends again, to the segment just entered, the
// images of the messages still queued whose records are in the segment
// after it, the next to be reused: when the writer gets there they need
// no fsync of their own (a log-structured file system's cleaner does
// the same). At most budget bytes (half a segment, less room for the
// record being appended) are copied; what does not fit, or
// cannot be read, is retired with an fsync as before. The old records
// stay valid until the new ones are durable: the segment after is reused
// only after an fdatasync of this one (rotateLocked).
func (j *journal) copyForwardLocked(budget int64) {
	after := (j.cur + 1) % len(j.files)
	if len(j.live[after]) == 0 || j.image == nil {
		return
	}
	ids := make([]string, 0, len(j.live[after]))
	for id := range j.live[after] {
		ids = append(ids, id)
	}
	sort.Strings(ids) // oldest first: the likeliest to wait longest
	for _, id := range ids {
		img, err := j.image(id)
		if err != nil {
			continue
		}
		if j.off+int64(jrecHeader+len(img)) > budget {
			return
		}
		rec := make([]byte, jrecHeader, jrecHeader+len(img))
		rec = append(rec, img...)
		if j.appendLocked(jrecMsg, rec, Checksum(0, img)) != nil {
			return
		}
		delete(j.live[after], id)
		j.live[j.cur][id] = struct{}{}
		j.where[id] = j.cur
		j.copied++
	}
}

// syncCurrent is the group commit's shared step.
func (j *journal) syncCurrent() error {
	j.mu.Lock()
	f := j.files[j.cur]
	j.mu.Unlock()
	return j.datasync(f)
}

// datasync is every fdatasync of a segment once the journal is in use.
// They run one at a time, and one that succeeds after another failed
// still fails: Linux reports a write-back error to one caller only, and
// may have dropped the pages, so a later fdatasync on the same file can
// succeed without having written a record another commit waits for.
func (j *journal) datasync(f *os.File) error {
	j.syncMu.Lock()
	defer j.syncMu.Unlock()
	if err := fdatasync(f); err != nil {
		j.failed.Store(true)
		return fmt.Errorf("queue journal: %w", err)
	}
	if j.failed.Load() {
		return errJournalOff
	}
	return nil
}

// fail turns the journal off after a write or sync error (datasync says
// why a failed fdatasync ends it); the caller reports the error.
func (j *journal) fail() { j.failed.Store(true) }

func fdatasync(f *os.File) error {
	for {
		err := unix.Fdatasync(int(f.Fd()))
		if err != unix.EINTR {
			if err != nil {
				return fmt.Errorf("fdatasync %s: %w", f.Name(), err)
			}
			return nil
		}
	}
}

// journalReplay is what the journal says about the messages it recorded.
type journalReplay struct {
	live   map[string][]byte // queued: the file image
	done   map[string]bool
	maxSeq uint64
	bad    int // image records that do not verify (never expected: the record's CRC matched)
}

func replay(recs []jrec) journalReplay {
	r := journalReplay{live: map[string][]byte{}, done: map[string]bool{}}
	for _, rec := range recs {
		r.maxSeq = max(r.maxSeq, rec.seq)
		switch rec.typ {
		case jrecDone:
			id := string(rec.payload)
			if validID(id) {
				r.done[id] = true
				delete(r.live, id)
			}
		case jrecMsg:
			id := ""
			if len(rec.payload) >= headerLen {
				id = string(rec.payload[idOffset:headerLen])
			}
			if !validID(id) || Verify(bytes.NewReader(rec.payload), id, int64(len(rec.payload))) != nil {
				r.bad++
				continue
			}
			if !r.done[id] {
				r.live[id] = rec.payload
			}
		}
	}
	return r
}
