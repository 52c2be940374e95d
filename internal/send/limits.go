package send

// Per-destination concurrency (Postfix's *_destination_concurrency_limit):
// one destination must not hold every slot of its channel. Ten .qmail
// programs of one recipient that never exit used all of concurrencylocal,
// and nobody else got mail; one slow domain could hold every remote slot
// (issue 11, item 3).
//
// A destination is, for local delivery, one recipient: the routed address
// with the case local delivery ignores folded away, the same mailbox key
// that merges duplicate recipients (dedup.go). For remote delivery it is
// the recipient domain, without case: a job carries the recipients of one
// message and domain. Send cannot see the account a local address ends up
// as (the spawner looks that up, as root), so it cannot limit per uid; the
// limit per recipient is Postfix's choice for local(8) as well.
//
// A ready entry whose destination is at its limit waits on that
// destination's list instead of the channel's, so the entries behind it
// are not held up; each job that finishes lets the destination's oldest
// live entry go again, ahead of the channel's ready list.

// destination is one destination's running jobs and the ready entries
// that wait for one of them to finish.
type destination struct {
	running int
	waiting []readyEntry
	logged  bool // its wait was logged; forgotten when it has nothing running
}

// destOf names r's destination.
func destOf(r *rcpt) string {
	if r.ch == chanRemote {
		return "R" + lowerASCII(domainOf(r.to))
	}
	return mailboxKey(r.ch, r.virtual, r.to)
}

func (c *Core) destination(ch channel, dest string) *destination {
	d := c.dests[ch][dest]
	if d == nil {
		d = &destination{}
		c.dests[ch][dest] = d
	}
	return d
}

// atLimit says whether dest has as many jobs running as it may (limit 0:
// no limit of its own).
func (c *Core) atLimit(ch channel, dest string, limit int) bool {
	d := c.dests[ch][dest]
	return limit > 0 && d != nil && d.running >= limit
}

// block parks a ready entry until a job of its destination finishes. The
// log says so once while the destination stays busy, not at every burst.
func (c *Core) block(ch channel, dest string, e readyEntry, limit int) {
	d := c.destination(ch, dest)
	if !d.logged {
		d.logged = true
		what, setting := "local recipient <"+e.r.to+">", "concurrencylocalrcpt"
		if ch == chanRemote {
			what, setting = "remote domain "+domainOf(e.r.to), "concurrencyremotedomain"
		}
		c.Out.Logf("status: %s has %d deliveries running (%s %d); more wait for them", what, d.running, setting, limit)
	}
	e.dest = dest
	d.waiting = append(d.waiting, e)
}

// release ends one job of dest: one slot is free, so its oldest live
// waiting entry may go.
func (c *Core) release(ch channel, dest string) {
	if d := c.dests[ch][dest]; d != nil {
		d.running--
		c.promote(ch, dest)
	}
}

// promote moves dest's oldest live waiting entry to the unblocked list, to
// start ahead of the channel's ready list. startReady calls it again when
// an entry it was given turns out stale, so a free slot is never left with
// entries waiting for it and nothing running to wake them.
func (c *Core) promote(ch channel, dest string) {
	d := c.dests[ch][dest]
	if d == nil {
		return
	}
	for len(d.waiting) > 0 {
		e := d.waiting[0]
		d.waiting[0] = readyEntry{}
		d.waiting = d.waiting[1:]
		if e.tok == e.r.tok && e.r.ready {
			c.unblocked[ch] = append(c.unblocked[ch], e)
			break
		}
	}
	if d.running <= 0 && len(d.waiting) == 0 {
		delete(c.dests[ch], dest)
	}
}

// releaseAll lets every waiting entry go (a limit changed); startReady
// parks again those still over it.
func (c *Core) releaseAll() {
	for ch := range c.dests {
		for dest, d := range c.dests[ch] {
			c.unblocked[ch] = append(c.unblocked[ch], d.waiting...)
			d.waiting = nil
			if d.running <= 0 {
				delete(c.dests[ch], dest)
			}
		}
	}
}

// blocked counts the entries waiting for their destination's limit (stale
// ones included until they are met).
func (c *Core) blocked(ch channel) int {
	n := 0
	for _, d := range c.dests[ch] {
		n += len(d.waiting)
	}
	return n
}
