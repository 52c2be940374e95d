package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"goqmail/internal/control"
	"goqmail/internal/dkimkey"
	"goqmail/internal/dnsadvice"
)

// DNSUsage is `goqmail dns --help`.
const DNSUsage = `usage: goqmail dns records|check DOMAIN [--ip ADDR[,ADDR]] [--host HOST] [--report ADDR] [-root ROOT]
  records DOMAIN   print every record DOMAIN needs, in zone-file syntax: MX, A/AAAA of
                   the host, SPF, DKIM (every key in ROOT/dkim), DMARC and TLS-RPT with
                   a reporting address, MTA-STS, SRV for the configured client
                   services, autoconfig, and the PTR records for the reverse zones
  check DOMAIN     look each of them up and say, record by record, what is missing
                   or wrong; exit 0 when all is well, 1 when something is not
  --ip ADDR,...    this server's public addresses (default: the global unicast
                   addresses of its interfaces)
  --host HOST      the server's name (default: control/me)
  --report ADDR    where DMARC and TLS reports go (default: postmaster@DOMAIN)
DNS queries go to $GOQMAIL_DNS (host:port) if set, else to /etc/resolv.conf's server.
The DKIM keys are readable by root only: run as root.
` + rootHelp

// ErrRecordsWrong is `dns check` finding a record missing or wrong: exit 1.
var ErrRecordsWrong = errors.New("DNS records missing or wrong")

// DNSCmd runs `goqmail dns ...`; server is a DNS server (host:port) or "".
func DNSCmd(root string, args []string, server string, out io.Writer) (bool, error) {
	if len(args) == 0 {
		return false, usagef("which command?")
	}
	fs, err := parseFlags(args[1:], []string{"ip", "host", "report"}, nil)
	if err != nil {
		return false, err
	}
	if args[0] != "records" && args[0] != "check" {
		return false, usagef("unknown command %q", args[0])
	}
	if len(fs.args) != 1 {
		return false, usagef("%s takes one domain", args[0])
	}
	domain := strings.ToLower(fs.args[0])
	if err := control.CheckDomain(domain); err != nil {
		return false, usagef("%q is not a domain name: %v", fs.args[0], err)
	}
	in, err := dnsInput(root, domain, fs)
	if err != nil {
		return false, err
	}
	recs := dnsadvice.Records(in)
	if args[0] == "records" {
		fmt.Fprint(out, dnsadvice.Zone(in, recs))
		return false, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bad := 0
	for _, f := range dnsadvice.Check(ctx, &dnsadvice.Client{Server: server}, recs) {
		if f.Err == nil {
			fmt.Fprintf(out, "ok      %s (%s %s)\n", f.Record.What, f.Record.Name, f.Record.Type)
			continue
		}
		bad++
		fmt.Fprintf(out, "PROBLEM %s: %v\n        publish: %s\n", f.Record.What, f.Err, f.Record.Zone())
	}
	if bad > 0 {
		return false, fmt.Errorf("%w: %d of %d records need a change (goqmail dns records %s prints them all)", ErrRecordsWrong, bad, len(recs), domain)
	}
	fmt.Fprintf(out, "all is well: %d records of %s as they should be\n", len(recs), domain)
	return false, nil
}

// dnsInput gathers what the advice is made of from ROOT and the options.
func dnsInput(root, domain string, fs *flagSet) (dnsadvice.Input, error) {
	dir := filepath.Join(root, "control")
	if _, err := os.Stat(dir); err != nil {
		return dnsadvice.Input{}, fmt.Errorf("%s is not a goqmail installation (it has no control/): give -root ROOT or set GOQMAIL_ROOT", root)
	}
	snap, probs := control.Inspect(dir)
	if len(probs) > 0 {
		return dnsadvice.Input{}, fmt.Errorf("%v: fix the configuration first (goqmail check -config)", probs)
	}
	in := dnsadvice.Input{Domain: domain, Host: strings.ToLower(snap.Line(control.Me)), ReportTo: fs.vals["report"],
		Submission: len(snap.List(control.SubmissionListen)) > 0, Submissions: len(snap.List(control.SMTPSListen)) > 0,
		POP3: len(snap.List(control.POP3Listen)) > 0, POP3S: len(snap.List(control.POP3SListen)) > 0}
	if h, ok := fs.vals["host"]; ok {
		if err := control.CheckDomain(h); err != nil {
			return in, usagef("--host %q: %v", h, err)
		}
		in.Host = strings.ToLower(h)
	}
	if r, ok := fs.vals["report"]; ok && (!strings.Contains(r, "@") || strings.ContainsAny(r, " ;,")) {
		return in, usagef("--report %q: give one mail address", r)
	}
	if v, ok := fs.vals["ip"]; ok {
		for _, s := range strings.Split(v, ",") {
			ip, err := netip.ParseAddr(strings.TrimSpace(s))
			if err != nil {
				return in, usagef("--ip %q: not an IP address", s)
			}
			in.IPs = append(in.IPs, ip.Unmap())
		}
	} else {
		in.IPs = publicAddrs()
	}
	active := dkimkey.Active(snap.List(control.DKIMKeys))
	sels, err := dkimkey.Selectors(root, domain)
	if err != nil {
		return in, fmt.Errorf("DKIM keys: %w (they are readable by root only)", err)
	}
	for _, sel := range sels {
		k, err := dkimkey.Load(dkimkey.Path(root, domain, sel))
		if err != nil {
			return in, fmt.Errorf("DKIM key: %w (they are readable by root only)", err)
		}
		rec, err := dkimkey.Record(k.Public())
		if err != nil {
			return in, err
		}
		in.Keys = append(in.Keys, dnsadvice.Key{Selector: sel, Record: rec, Active: active[domain] == sel})
	}
	return in, nil
}

// publicAddrs is the machine's global unicast addresses, private ranges
// left out (nobody outside can reach them).
func publicAddrs() []netip.Addr {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, a := range addrs {
		p, err := netip.ParsePrefix(a.String())
		if err != nil {
			continue
		}
		ip := p.Addr().Unmap()
		if ip.IsGlobalUnicast() && !ip.IsPrivate() {
			out = append(out, ip)
		}
	}
	return out
}
