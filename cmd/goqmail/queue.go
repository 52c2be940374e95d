package main

import (
	"fmt"
	"os"

	"goqmail/internal/admin"
	"goqmail/internal/proto"
)

const queueUsage = `usage: goqmail queue COMMAND [ARGS] [-root ROOT]
  list                     every message: date, id, size, sender; each recipient's channel and state
  stat                     counts (qmail-qstat)
  show ID                  one message: envelope, states and content
  retry [ID]               try waiting recipients now (all messages without ID; qmail's ALRM)
  hold ID                  start no delivery and send no bounce for the message
  release ID               undo hold; its recipients are due now
  delete ID --bounce       remove it; the sender gets a bounce for every recipient not delivered
  delete ID --silent       remove it without telling anyone
  requeue [ID]             route recipients again with the current control files, then retry
ROOT defaults to $GOQMAIL_ROOT, else /var/goqmail.
`

// queueCmd runs `goqmail queue ...`; see docs/commands.md.
func queueCmd(args []string) {
	root, rest, err := splitRoot(args)
	if err != nil {
		queueFail("%v", err)
	}
	if len(rest) == 0 {
		queueFail("which command?")
	}
	verb, rest := rest[0], rest[1:]
	need := func(min, max int) {
		if len(rest) < min || len(rest) > max {
			queueFail("%s takes %d to %d arguments, got %d", verb, min, max, len(rest))
		}
	}
	id := func() string {
		if len(rest) > 0 {
			return rest[0]
		}
		return ""
	}
	switch verb {
	case "list", "stat":
		need(0, 0)
		msgs, err := admin.ReadQueue(root)
		if err != nil {
			fail("%v", err)
		}
		if verb == "list" {
			admin.WriteList(os.Stdout, msgs)
		} else {
			admin.WriteStat(os.Stdout, msgs)
		}
	case "show":
		need(1, 1)
		if err := admin.ShowMessage(os.Stdout, root, rest[0]); err != nil {
			fail("%v", err)
		}
	case "retry", "requeue":
		need(0, 1)
		send(root, proto.Admin{Verb: verb, ID: id()})
	case "hold", "release":
		need(1, 1)
		send(root, proto.Admin{Verb: verb, ID: rest[0]})
	case "delete":
		need(2, 2)
		var bounce bool
		switch rest[1] {
		case "--bounce", "-bounce":
			bounce = true
		case "--silent", "-silent":
		default:
			queueFail("delete needs --bounce (the sender is told) or --silent (nobody is told), got %q", rest[1])
		}
		send(root, proto.Admin{Verb: proto.AdminDelete, ID: rest[0], Bounce: bounce})
	case "help", "-h", "--help":
		fmt.Print(queueUsage)
	default:
		queueFail("unknown command %q", verb)
	}
}

func send(root string, cmd proto.Admin) {
	text, err := admin.QueueCommand(root, cmd)
	if err != nil {
		fail("queue %s: %v", cmd.Verb, err)
	}
	fmt.Println(text)
}

func queueFail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "goqmail queue: "+format+"\n\n", args...)
	fmt.Fprint(os.Stderr, queueUsage)
	os.Exit(100)
}
