package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

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
` + rootHelp

// queueCmd runs `goqmail queue ...`; see docs/commands.md.
func queueCmd(c *call) {
	if len(c.args) == 0 {
		usageFail(c.cmd, "which command?")
	}
	verb, rest := c.args[0], c.args[1:]
	var opts []string // the words starting with '-'
	var words []string
	for _, a := range rest {
		if strings.HasPrefix(a, "-") {
			opts = append(opts, a)
		} else {
			words = append(words, a)
		}
	}
	need := func(min, max int) {
		if len(opts) > 0 && verb != proto.AdminDelete {
			usageFail(c.cmd, "unknown option %s (queue %s takes none)", opts[0], verb)
		}
		if len(words) < min || len(words) > max {
			usageFail(c.cmd, "%s takes %s, got %d", verb, arity(min, max), len(words))
		}
	}
	id := func() string {
		if len(words) > 0 {
			return words[0]
		}
		return ""
	}
	root := c.root
	switch verb {
	case "list", "stat":
		need(0, 0)
		msgs, err := admin.ReadQueue(root)
		if err != nil {
			fail("queue %s: %v", verb, err)
		}
		switch {
		case verb == "stat":
			admin.WriteStat(os.Stdout, msgs)
		case len(msgs) == 0:
			// qmail-qread prints nothing; say it, as Postfix's mailq
			// does, so an empty listing is not mistaken for a failure.
			fmt.Printf("mail queue is empty (%s)\n", filepath.Join(root, "queue"))
		default:
			admin.WriteList(os.Stdout, msgs)
		}
	case "show":
		need(1, 1)
		if err := admin.ShowMessage(os.Stdout, root, words[0]); err != nil {
			fail("queue show: %v", err)
		}
	case "retry", "requeue":
		need(0, 1)
		send(root, proto.Admin{Verb: verb, ID: id()})
	case "hold", "release":
		need(1, 1)
		send(root, proto.Admin{Verb: verb, ID: words[0]})
	case proto.AdminDelete:
		need(1, 1)
		var bounce bool
		switch {
		case len(opts) == 1 && (opts[0] == "--bounce" || opts[0] == "-bounce"):
			bounce = true
		case len(opts) == 1 && (opts[0] == "--silent" || opts[0] == "-silent"):
		case len(opts) == 0:
			usageFail(c.cmd, "delete needs --bounce (the sender is told) or --silent (nobody is told)")
		default:
			usageFail(c.cmd, "delete takes --bounce or --silent, got %s", strings.Join(opts, " "))
		}
		send(root, proto.Admin{Verb: proto.AdminDelete, ID: words[0], Bounce: bounce})
	default:
		usageFail(c.cmd, "unknown command %q", verb)
	}
}

func arity(min, max int) string {
	switch {
	case min == max && min == 0:
		return "no arguments"
	case min == max:
		return fmt.Sprintf("%d argument(s)", min)
	}
	return fmt.Sprintf("%d to %d arguments", min, max)
}

func send(root string, cmd proto.Admin) {
	text, err := admin.QueueCommand(root, cmd)
	if err != nil {
		fail("queue %s: %v", cmd.Verb, err)
	}
	fmt.Println(text)
}
