package main

import (
	"errors"
	"os"
)

// splitRoot takes `-root ROOT` (or `--root`) out of a subcommand's
// arguments: ROOT is that, else $GOQMAIL_ROOT, else /var/goqmail. The
// flag may come anywhere, as the queue, relay and virtual-user commands
// document.
func splitRoot(args []string) (root string, rest []string, err error) {
	root = os.Getenv("GOQMAIL_ROOT")
	if root == "" {
		root = defaultRoot
	}
	for i := 0; i < len(args); i++ {
		if args[i] == "-root" || args[i] == "--root" {
			if i+1 >= len(args) {
				return "", nil, errors.New("-root needs a directory")
			}
			root = args[i+1]
			i++
			continue
		}
		rest = append(rest, args[i])
	}
	return root, rest, nil
}
