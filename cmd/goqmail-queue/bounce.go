package main

import (
	"io"
	"sync/atomic"

	"goqmail/internal/bounce"
	"goqmail/internal/control"
	"goqmail/internal/queue"
)

// bouncer connects the queue's bounce requests to internal/bounce, with the
// control files of the moment (reloaded on SIGHUP).
type bouncer struct{ cfg atomic.Pointer[bounceConfig] }

type bounceConfig struct {
	from, host           string
	doubleTo, doubleHost string
	maxOriginal          int64
	me                   string
}

func (b *bouncer) load(snap *control.Snapshot) {
	b.cfg.Store(&bounceConfig{
		from: snap.Line(control.BounceFrom), host: snap.Line(control.BounceHost),
		doubleTo: snap.Line(control.DoubleBounceTo), doubleHost: snap.Line(control.DoubleBounceHost),
		maxOriginal: snap.Number(control.BounceMaxBytes), me: snap.Line(control.Me),
	})
}

func (b *bouncer) Route(origSender string) (sender, rcpt string, double, drop bool, why string) {
	c := b.cfg.Load()
	r := bounce.Decide(origSender, c.doubleTo, c.doubleHost)
	return r.Sender, r.Rcpt, r.Double, r.Drop, r.Why
}

func (b *bouncer) Write(w io.Writer, info queue.BounceInfo, original io.Reader, size int64) error {
	c := b.cfg.Load()
	p := bounce.Params{
		Now: info.Now, FromAddr: c.from + "@" + c.host, Host: c.host, ReportingMTA: c.me,
		QueueID: info.ID, Arrival: info.Arrival, To: info.To, OrigSender: info.OrigSender,
		Double: info.Double, MaxOriginal: c.maxOriginal, MessageIDHost: c.me,
	}
	for _, f := range info.Failures {
		p.Failures = append(p.Failures, bounce.Failure{Rcpt: f.Rcpt, Text: f.Text})
	}
	return bounce.Write(w, p, original, size)
}
