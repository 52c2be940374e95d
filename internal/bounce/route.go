package bounce

import "strings"

// doubleBounceSender is the envelope sender qmail gives a double bounce, so
// that a bounce of it can be recognised as a triple bounce and discarded
// (qmail.md §5.1, qmail-send.c injectbounce).
const doubleBounceSender = "#@[]"

// Route says where a bounce for a failed message goes.
type Route struct {
	Sender string // envelope sender of the bounce: "" or "#@[]" for a double bounce
	Rcpt   string // envelope recipient of the bounce
	Drop   bool   // send nothing; Why says why (for the log)
	Double bool   // the bounce is a double bounce (use Params.Double)
	Why    string
}

// Decide routes the bounce of a message whose envelope sender was
// origSender, as qmail-send's injectbounce does:
//   - a VERP sender "pre@host-@[]" is first turned back into "pre@host";
//   - a normal sender gets a bounce from "<>";
//   - the null sender (the failed message was itself a bounce) makes a double
//     bounce from "#@[]" to doubleBounceTo@doubleBounceHost, or nothing when
//     doubleBounceTo is empty (the "discard double bounces" patch, qmail.md §5.1);
//   - "#@[]" (the failed message was a double bounce) is a triple bounce and
//     is discarded.
//
// doubleBounceHost "" leaves doubleBounceTo as it is; defaulting the host to
// control/me is the caller's configuration job.
func Decide(origSender, doubleBounceTo, doubleBounceHost string) Route {
	sender := stripVERP(origSender)
	switch sender {
	case doubleBounceSender:
		return Route{Drop: true, Why: "triple bounce: discarding"}
	case "":
		if doubleBounceTo == "" {
			return Route{Drop: true, Double: true, Why: "double bounce: discarding (doublebounceto is empty)"}
		}
		rcpt := doubleBounceTo
		if doubleBounceHost != "" {
			rcpt += "@" + doubleBounceHost
		}
		return Route{Sender: doubleBounceSender, Rcpt: rcpt, Double: true}
	}
	return Route{Sender: "", Rcpt: sender}
}

// stripVERP undoes qmail's VERP sender form: qmail-send rewrites
// "owner-@host-@[]" per recipient for deliveries, and injectbounce turns it
// back into "owner-@host" for the bounce.
func stripVERP(sender string) string {
	if s, ok := strings.CutSuffix(sender, "-@[]"); ok {
		return s
	}
	return sender
}
