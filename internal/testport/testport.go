// Package testport hands out loopback TCP ports for servers that tests,
// campaigns and benchmarks start later (goqmaild binds them itself, so
// the caller cannot hold a listener open until then).
//
// The kernel's choice for port 0 is not used: it comes from the ephemeral
// range (net.ipv4.ip_local_port_range, 32768-60999 by default), where
// every outgoing connection of every process also takes its local port,
// and the kernel hands a port it just gave out to the next caller again
// once it is closed. Under `go test ./...` the e2e tests, the power-cut
// campaign and their clients all run at once; twice a goqmaild found its
// SMTP port taken and the test's greeting probe was answered by another
// test's server. So ports come from 20000-31999, below that range, are
// checked free by a listen, and one process never hands out a port twice.
// Different processes may still pick the same free port at the same
// moment; the random start makes that rare, and callers check that the
// server they started holds the port.
package testport

import (
	"errors"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
)

const (
	first = 20000
	count = 12000
)

var (
	mu    sync.Mutex
	given = map[int]bool{}
)

// Free returns a loopback port nobody listens on right now, never one
// this process returned before.
func Free() (int, error) {
	mu.Lock()
	defer mu.Unlock()
	for range 2000 {
		p := first + rand.IntN(count)
		if given[p] {
			continue
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		ln.Close()
		given[p] = true
		return p, nil
	}
	return 0, errors.New("testport: no free loopback port in 20000-31999")
}

// FreeAddr is Free as "127.0.0.1:port".
func FreeAddr() (string, error) {
	p, err := Free()
	if err != nil {
		return "", err
	}
	return "127.0.0.1:" + strconv.Itoa(p), nil
}
