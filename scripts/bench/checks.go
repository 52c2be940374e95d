package main

import (
	"encoding/hex"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/miekg/dns"

	"goqmail/internal/greylist"
)

// With -checks, goqmail runs with the whole check set of docs/antispam.md
// on (issue 13): two DNS blocklists and an allowlist, forward-confirmed
// reverse DNS, badhelo, badmailfrom, badrcptto, rate limits per address
// and greylisting, against a DNS server in this process. smtp-source's
// address is listed nowhere, so every check runs to the end and every
// message is accepted: the figure is what the checks cost per message
// with the DNS answers cached (the first message of a run asks, the rest
// find them in smtpd's cache). Postfix is left as it is, as the reference
// for the machine's drift between a run with -checks and one without.
var checks = flag.Bool("checks", false, "turn goqmail's checks (docs/antispam.md) on, with a DNS server in this process; compare -cpu's smtpd figure with a run without")

// checksZone answers like a recursive resolver for the lookups smtpd
// makes about 127.0.0.1: not in the blocklists nor the allowlist
// (NXDOMAIN with the SOA's negative TTL, so it is cached), and a PTR
// whose name resolves back.
const checksZone = `
example.               3600 IN SOA ns.example. admin.example. 1 3600 600 86400 3600
1.0.0.127.in-addr.arpa. 3600 IN PTR localhost.bench.example.
localhost.bench.example. 3600 IN A 127.0.0.1
`

// checksControl writes the check set into root's control/ and seeds the
// greylisting state so smtp-source's one triplet has passed already (a
// 451 would end its run). It returns the DNS server to stop at the end.
func checksControl(root string) *dns.Server {
	srv, addr := startBenchDNS(checksZone)
	ctl := filepath.Join(root, "control")
	for name, value := range map[string]string{
		"dnsservers":     addr,
		"dnsbl":          "zen.bl.example\nbl2.example*2",
		"dnsblthreshold": "2",
		"dnswl":          "list.wl.example",
		"requirerdns":    "2",
		"badhelo":        "localhost\n.dynamic.example",
		"badmailfrom":    "spammer@example.com\n@spam.example",
		"badrcptto":      "former@example.test\n@closed.example.test",
		"msgrateperip":   "10000000",
		"rcptrateperip":  "10000000",
		"greylistdelay":  "300",
	} {
		must(os.WriteFile(filepath.Join(ctl, name), []byte(value+"\n"), 0o644))
	}
	// The triplets: smtp-source's address and sender, and each recipient
	// of the local and the relay scenarios (smtp-source -r N writes
	// Nbench@, ..., 2bench@, bench@).
	then := time.Now().Add(-time.Hour).Unix()
	state := "goqmail greylist 1\n"
	for _, r := range append([]string{rcpt}, relayRcpts()...) {
		k := greylist.KeyOf(netip.MustParseAddr("127.0.0.1"), "bench@example.org", r)
		state += fmt.Sprintf("%s %d %d 1\n", hex.EncodeToString(k[:]), then, then)
	}
	path := filepath.Join(root, "greylist", "state")
	must(os.WriteFile(path, []byte(state), 0o600))
	// smtpd's account owns greylist/ (goqmail init as root): the file too.
	st, err := os.Stat(filepath.Dir(path))
	must(err)
	sys := st.Sys().(*syscall.Stat_t)
	must(os.Chown(path, int(sys.Uid), int(sys.Gid)))
	return srv
}

// startBenchDNS serves zone on a free UDP port of 127.0.0.1 until stopped:
// the records it holds, NXDOMAIN with the closest SOA for the rest.
func startBenchDNS(zone string) (*dns.Server, string) {
	records := map[string][]dns.RR{}
	for _, line := range strings.Split(zone, "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		rr, err := dns.NewRR(line)
		must(err)
		name := strings.ToLower(rr.Header().Name)
		records[name] = append(records[name], rr)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	must(err)
	handler := func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		m.RecursionAvailable = true
		if len(req.Question) == 1 {
			q := req.Question[0]
			name := strings.ToLower(q.Name)
			rrs, ok := records[name]
			for _, rr := range rrs {
				if rr.Header().Rrtype == q.Qtype {
					m.Answer = append(m.Answer, rr)
				}
			}
			if !ok {
				m.Rcode = dns.RcodeNameError
			}
			if len(m.Answer) == 0 {
				for n := name; n != ""; {
					if soa := soaOf(records[n]); soa != nil {
						m.Ns = append(m.Ns, soa)
						break
					}
					_, n, _ = strings.Cut(n, ".")
				}
			}
		}
		w.WriteMsg(m)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(handler)}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go srv.ActivateAndServe()
	<-started
	return srv, pc.LocalAddr().String()
}

func soaOf(rrs []dns.RR) dns.RR {
	for _, rr := range rrs {
		if rr.Header().Rrtype == dns.TypeSOA {
			return rr
		}
	}
	return nil
}

func relayRcpts() []string {
	out := []string{"bench@" + relayDomain}
	for i := 2; i <= *rcpts; i++ {
		out = append(out, fmt.Sprintf("%dbench@%s", i, relayDomain))
	}
	return out
}
