package testport

import (
	"net"
	"strconv"
	"testing"
)

// Ports are below the ephemeral range, free when handed out, and never
// handed out twice by one process.
func TestFreeIsFreeAndNeverRepeats(t *testing.T) {
	seen := map[int]bool{}
	for range 200 {
		p, err := Free()
		if err != nil {
			t.Fatal(err)
		}
		if p < first || p >= first+count || seen[p] {
			t.Fatalf("port %d: outside %d-%d or handed out twice", p, first, first+count-1)
		}
		seen[p] = true
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Fatalf("port %d was handed out but cannot be bound: %v", p, err)
		}
		ln.Close()
	}
}
