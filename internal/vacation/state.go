package vacation

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"goqmail/internal/atomicfile"
)

// maxState bounds the state file: when more senders were answered within
// one period, the oldest entries are forgotten (they may get a second
// reply; the file never grows without bound). A variable for tests.
var maxState = 2000

// Claim records that sender gets a reply now, and reports false when it
// had one within the last days days: qmail autoresponders' "at most one
// reply per sender per period". The state file (lines "unix-time
// sender", lower case) is replaced atomically under a lock, so two
// deliveries at once cannot both answer; expired entries are dropped.
// The claim is made before the reply is sent: a failed send means no
// reply this period rather than a risk of two.
func Claim(dir, sender string, days int, now time.Time) (bool, error) {
	unlock, err := atomicfile.Lock(filepath.Join(dir, lockFile))
	if err != nil {
		return false, err
	}
	defer unlock()
	path := filepath.Join(dir, StateFile)
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return false, err
	}
	type entry struct {
		t    int64
		addr string
	}
	key := strings.ToLower(oneLine(sender))
	cutoff := now.Add(-time.Duration(days) * 24 * time.Hour).Unix()
	var keep []entry
	for _, line := range bytes.Split(data, []byte("\n")) {
		ts, addr, ok := strings.Cut(string(line), " ")
		t, err := strconv.ParseInt(ts, 10, 64)
		if !ok || err != nil || t <= cutoff || t > now.Unix()+86400 {
			continue // expired, from a clock far ahead, or garbage: forget it
		}
		if addr == key {
			return false, nil
		}
		keep = append(keep, entry{t, addr})
	}
	keep = append(keep, entry{now.Unix(), key})
	slices.SortStableFunc(keep, func(a, b entry) int { return int(a.t - b.t) })
	if len(keep) > maxState {
		keep = keep[len(keep)-maxState:]
	}
	var b bytes.Buffer
	for _, e := range keep {
		fmt.Fprintf(&b, "%d %s\n", e.t, e.addr)
	}
	if err := atomicfile.WriteFile(path, b.Bytes(), 0o600); err != nil {
		return false, err
	}
	return true, nil
}
