package route

import (
	"fmt"
	"net"
	"net/netip"
)

// InterfaceAddrs returns the addresses of this host's network interfaces,
// for Finder.LocalAddrs: qmail's ipme, which also lists IPv6 and every
// interface, not only the first. Read it at start and on SIGHUP.
func InterfaceAddrs() ([]netip.Addr, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("list interface addresses: %w", err)
	}
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		var ip net.IP
		switch v := a.(type) {
		case *net.IPNet:
			ip = v.IP
		case *net.IPAddr:
			ip = v.IP
		}
		if addr, ok := netip.AddrFromSlice(ip); ok {
			out = append(out, addr.Unmap())
		}
	}
	return out, nil
}
