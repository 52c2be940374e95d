package send

import (
	"container/heap"
	"fmt"
	"time"

	"goqmail/internal/proto"
)

// Admin applies one `goqmail queue` command and says what it did. The
// state it changes is recorded through the queue (hold records, recipient
// records), so it survives a restart of send.
func (c *Core) Admin(a proto.Admin) (string, error) {
	if a.ID == "" {
		switch a.Verb {
		case proto.AdminRetry:
			c.RetryNow()
			return fmt.Sprintf("%d messages: every waiting recipient is due now", len(c.msgs)), nil
		case proto.AdminRequeue:
			n := 0
			for _, m := range c.msgs {
				n += c.requeue(m)
			}
			return fmt.Sprintf("%d recipients routed again and due now", n), nil
		}
		return "", fmt.Errorf("%s needs a message id", a.Verb)
	}
	m := c.msgs[a.ID]
	if m == nil {
		return "", fmt.Errorf("no message %s in the queue (finished, or never there)", a.ID)
	}
	if m.deleting {
		return "", fmt.Errorf("message %s is being deleted", a.ID)
	}
	switch a.Verb {
	case proto.AdminRetry:
		n := c.dueNow(m)
		return fmt.Sprintf("msg %s: %d recipients due now", m.id, n), nil
	case proto.AdminRequeue:
		n := c.requeue(m)
		return fmt.Sprintf("msg %s: %d recipients routed again and due now", m.id, n), nil
	case proto.AdminHold:
		if m.held {
			return fmt.Sprintf("msg %s was already held", m.id), nil
		}
		m.held = true
		c.Out.Update(proto.Update{ID: m.id, Index: proto.HoldIndex, State: 1})
		c.Out.Logf("hold msg %s", m.id)
		return fmt.Sprintf("msg %s held: no delivery starts until release (%d running now finish)", m.id, m.running), nil
	case proto.AdminRelease:
		if !m.held {
			return fmt.Sprintf("msg %s was not held", m.id), nil
		}
		m.held = false
		c.Out.Update(proto.Update{ID: m.id, Index: proto.HoldIndex, State: 0})
		c.Out.Logf("release msg %s", m.id)
		n := c.dueNow(m)
		c.maybeFinish(m)
		return fmt.Sprintf("msg %s released: %d recipients due now", m.id, n), nil
	case proto.AdminDelete:
		return c.delete(m, a.Bounce), nil
	}
	return "", fmt.Errorf("unknown command %q", a.Verb)
}

// delete removes a message: silently, or failing every recipient not yet
// delivered so the sender gets one bounce. Running deliveries finish first;
// their deferrals then count as failures.
func (c *Core) delete(m *message, bounce bool) string {
	m.deleting, m.silent, m.held = true, !bounce, false
	n := 0
	for _, r := range m.rcpts {
		if r.state != proto.StatePending || r.running {
			continue
		}
		n++
		m.open--
		if bounce {
			r.state = proto.StateFailed
			m.failed++
			c.Out.Update(proto.Update{ID: m.id, Index: r.idx, State: r.state, Text: deletedText})
		} else {
			r.state = proto.StateDone
		}
	}
	how := "silently"
	if bounce {
		how = "with a bounce to <" + m.sender + ">"
	}
	c.Out.Logf("delete msg %s %s", m.id, how)
	running := m.running
	c.maybeFinish(m)
	return fmt.Sprintf("msg %s deleted %s: %d recipients removed, %d deliveries still running", m.id, how, n, running)
}

// dueNow makes a message's waiting recipients due now.
func (c *Core) dueNow(m *message) int {
	n := 0
	for _, r := range m.rcpts {
		if r.state == proto.StatePending && !r.running {
			r.retryAt = time.Time{}
			c.wait(r)
			n++
		}
	}
	heap.Init(&c.timers)
	return n
}

// requeue routes a message's pending recipients again with the current
// control files (after fixing virtualdomains, say) and makes them due.
func (c *Core) requeue(m *message) int {
	for _, r := range m.rcpts {
		if r.state != proto.StatePending || r.running {
			continue
		}
		if !r.ready {
			c.route(r) // waiting on the timer heap: the channel is chosen when due
			continue
		}
		// On a ready list: it keeps that list's channel until it runs.
		if res := c.cfg.Rules.Route(r.addr); res.Channel == r.ch {
			r.to = res.Addr
		}
	}
	return c.dueNow(m)
}

// RetryNow makes every waiting recipient due (qmail-send's SIGALRM).
func (c *Core) RetryNow() {
	for _, r := range c.timers {
		r.retryAt = time.Time{}
	}
	heap.Init(&c.timers)
}
