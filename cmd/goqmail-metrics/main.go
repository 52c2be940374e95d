// Command goqmail-metrics serves goqmail's Prometheus metrics
// (docs/metrics.md). The supervisor starts it as the goqmailm account,
// only when control/metricslisten lists an address, with the datagram
// socket ROOT/run/metrics.sock and the HTTP listeners on fds 3 and up
// (GOQMAIL_FD_KINDS: metrics, then prometheus for each address) and each
// program's uid in GOQMAIL_METRICS_CLIENTS (smtpd=UID,queue=UID,...).
// It reads no file. See internal/metricsd for what it trusts.
package main

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"goqmail/internal/helptext"
	"goqmail/internal/ipc"
	"goqmail/internal/logline"
	"goqmail/internal/metrics"
	"goqmail/internal/metricsd"
)

func main() {
	for _, a := range os.Args[1:] {
		if a == "-h" || a == "-help" || a == "--help" {
			fmt.Print(helptext.Metrics)
			os.Exit(0)
		}
	}
	log := logline.New("metrics")
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	logline.RootArg("goqmail-metrics")
	uids, err := parseClients(os.Getenv("GOQMAIL_METRICS_CLIENTS"))
	if err != nil {
		log.Fatalf("GOQMAIL_METRICS_CLIENTS: %v", err)
	}
	kinds := strings.Split(os.Getenv("GOQMAIL_FD_KINDS"), ",")
	if n := ipc.EnvUID("GOQMAIL_FDS"); n != len(kinds) || n < 2 || kinds[0] != "metrics" {
		log.Fatalf("expected the metrics socket and at least one HTTP listener (GOQMAIL_FDS=%s GOQMAIL_FD_KINDS=%s)", os.Getenv("GOQMAIL_FDS"), os.Getenv("GOQMAIL_FD_KINDS"))
	}
	st := metricsd.NewState(uids)
	f := os.NewFile(3, "metrics.sock")
	pc, err := net.FilePacketConn(f)
	f.Close()
	if err != nil {
		log.Fatalf("metrics socket: %v", err)
	}
	conn, ok := pc.(*net.UnixConn)
	if !ok {
		log.Fatalf("metrics socket: descriptor 3 is not a Unix datagram socket")
	}
	go func() {
		if err := metricsd.Receive(conn, st, log); err != nil {
			log.Fatalf("metrics socket: %v", err)
		}
	}()
	h := metricsd.Handler(st, log)
	for i, kind := range kinds[1:] {
		if kind != "prometheus" {
			log.Fatalf("descriptor %d is a %q listener, expected prometheus", 4+i, kind)
		}
		ln, err := ipc.InheritedListener(4+i, kind)
		if err != nil {
			log.Fatalf("%v", err)
		}
		log.Printf("status: serving /metrics on %s", ln.Addr())
		go func() {
			if err := metricsd.Serve(ln, h); err != nil {
				log.Fatalf("HTTP on %s: %v", ln.Addr(), err)
			}
		}()
	}
	for sig := range sigs {
		if sig != syscall.SIGHUP { // nothing to reread
			return
		}
	}
}

// parseClients reads prog=uid,... for every program of the catalog.
func parseClients(v string) (map[string]int, error) {
	uids := map[string]int{}
	for _, kv := range strings.Split(v, ",") {
		name, id, ok := strings.Cut(kv, "=")
		uid, err := strconv.Atoi(id)
		if !ok || err != nil || uid < 0 {
			return nil, fmt.Errorf("%q is not program=uid", kv)
		}
		uids[name] = uid
	}
	for _, p := range metrics.ProgramNames {
		if _, ok := uids[p]; !ok {
			return nil, fmt.Errorf("no uid for %s in %q", p, v)
		}
	}
	return uids, nil
}
