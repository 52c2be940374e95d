package maildir

import (
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// hostEscaper makes a host name safe for the right part of a unique name.
// The spec (cr.yp.to/proto/maildir.html) asks for '/' -> \057 and
// ':' -> \072, because a unique name must contain neither. We also turn
// ',' into \054: we append the Maildir++ ",S=<size>" field, and readers
// (Dovecot, Courier quota code) find that field by its comma.
var hostEscaper = strings.NewReplacer("/", `\057`, ":", `\072`, ",", `\054`)

// escapeHost applies hostEscaper; an empty result would make the name end
// in '.', so it becomes "localhost".
func escapeHost(host string) string {
	if host == "" {
		return "localhost"
	}
	return hostEscaper.Replace(host)
}

// init fills in what stays fixed for the life of the Deliverer: the pid
// and the escaped host name. Host defaults to gethostname(), as in qmail.
func (d *Deliverer) init() {
	d.pid = os.Getpid()
	host := d.Host
	if host == "" {
		h, err := os.Hostname()
		if err != nil {
			d.initErr = fmt.Errorf("maildir: host name for unique names: %w", err)
			return
		}
		host = h
	}
	d.host = escapeHost(host)
}

// tmpName returns a fresh unique name for tmp/ following the current spec:
// "<seconds>.M<usec>P<pid>Q<deliveries>R<random hex>.<host>".
//
// M and P alone repeat when two goroutines of this process deliver in the
// same microsecond; Q (this Deliverer's counter) separates those, and R
// separates two Deliverers in one process and pids reused within a second.
// Every call counts as a delivery attempt, so a retry after EEXIST gets a
// new Q as well as new random bits.
func (d *Deliverer) tmpName() (string, error) {
	d.once.Do(d.init)
	if d.initErr != nil {
		return "", d.initErr
	}
	now := time.Now()
	if d.clock != nil {
		now = d.clock()
	}
	q := d.deliveries.Add(1)
	var rnd [8]byte
	random := d.random
	if random == nil {
		random = rand.Reader
	}
	if _, err := io.ReadFull(random, rnd[:]); err != nil {
		return "", fmt.Errorf("maildir: random part of unique name: %w", err)
	}
	b := make([]byte, 0, 80+len(d.host))
	b = strconv.AppendInt(b, now.Unix(), 10)
	b = append(b, ".M"...)
	b = strconv.AppendInt(b, int64(now.Nanosecond()/1000), 10)
	b = append(b, 'P')
	b = strconv.AppendInt(b, int64(d.pid), 10)
	b = append(b, 'Q')
	b = strconv.AppendUint(b, q, 10)
	b = append(b, 'R')
	b = fmt.Appendf(b, "%x", rnd)
	b = append(b, '.')
	b = append(b, d.host...)
	return string(b), nil
}

// newName is the name in new/: the tmp name plus the Maildir++ size field
// ",S=<bytes>", which Dovecot and quota code read instead of calling stat.
// It is the only difference allowed between the two names.
func newName(tmp string, size int64) string {
	return tmp + ",S=" + strconv.FormatInt(size, 10)
}
