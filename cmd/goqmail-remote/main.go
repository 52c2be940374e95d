// Command goqmail-remote is the remote delivery process (qmail-rspawn and
// qmail-remote in one). The supervisor starts it as goqmailr with group
// goqmail and its socket on fd 3; send connects and hands it jobs: one
// message, one domain, up to 100 recipients. SIGHUP rereads control/
// (helohost, smtproutes, tlsdestinations, timeouts). See internal/remote.
//
// GOQMAIL_DNS (host:port of a DNS server instead of /etc/resolv.conf),
// GOQMAIL_REMOTEPORT (the SMTP port for MX hosts instead of 25),
// GOQMAIL_TLS_ROOTS (a PEM file of CA certificates used instead of the
// system's for verified TLS and MTA-STS fetches) and GOQMAIL_MTASTS_PORT
// (the HTTPS port of MTA-STS policy hosts instead of 443) exist for test
// networks; the supervisor passes them through.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"goqmail/internal/control"
	"goqmail/internal/ipc"
	"goqmail/internal/logline"
	"goqmail/internal/metrics"
	"goqmail/internal/mtasts"
	"goqmail/internal/queue"
	"goqmail/internal/remote"
	"goqmail/internal/route"
	"goqmail/internal/submit"
	"goqmail/internal/tlsrpt"
)

func main() {
	log := logline.New("remote")
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	root := logline.RootArg("goqmail-remote")
	if os.Geteuid() == 0 {
		log.Fatalf("refusing to run as root: remote delivery talks to the network")
	}
	var port uint16
	if v := os.Getenv("GOQMAIL_REMOTEPORT"); v != "" {
		p, err := strconv.ParseUint(v, 10, 16)
		if err != nil || p == 0 {
			log.Fatalf("GOQMAIL_REMOTEPORT=%q is not a port", v)
		}
		port = uint16(p)
	}
	resolver := route.NewDNS(os.Getenv("GOQMAIL_DNS"))
	roots, err := testRoots(os.Getenv("GOQMAIL_TLS_ROOTS"))
	if err != nil {
		log.Fatalf("GOQMAIL_TLS_ROOTS: %v", err)
	}
	var stsPort uint16
	if v := os.Getenv("GOQMAIL_MTASTS_PORT"); v != "" {
		p, err := strconv.ParseUint(v, 10, 16)
		if err != nil || p == 0 {
			log.Fatalf("GOQMAIL_MTASTS_PORT=%q is not a port", v)
		}
		stsPort = uint16(p)
	}
	// One policy cache for the life of the process: a SIGHUP must not
	// forget the policies seen (RFC 8461 5.1).
	stsCache := &mtasts.Cache{Resolver: resolver, Client: mtasts.NewHTTPClient(resolver, roots, stsPort)}
	// TLS-RPT (RFC 8460): every outcome is counted in memory (a restart
	// loses the day's counts so far) and logged when it is a failure;
	// after each UTC day the reports go out through the queue.
	rpt := &tlsrpt.Store{}
	var rptFrom, me atomic.Pointer[string]
	report := func(o remote.TLSOutcome) {
		rpt.Add(o, time.Now())
		if o.Failure != "" {
			log.Printf("tls: %s: %s policy %s, MX %s [%s]: %s: %s", o.Domain, o.PolicyType, o.PolicyID, o.MXHost, o.Addr, o.Failure, o.Detail)
		}
	}
	go sendReports(log, rpt, &tlsrpt.Sender{Resolver: resolver,
		Submit: func(from string, to []string, msg []byte) error {
			res, err := submit.Message(filepath.Join(root, "run", "submit.sock"), from, to, bytes.NewReader(msg), time.Minute)
			if err == nil && !res.OK {
				err = fmt.Errorf("the queue refused the report: %s", res.Text)
			}
			return err
		},
		Log: func(f string, a ...any) { log.Printf(f, a...) }}, &rptFrom, &me)
	dead := route.NewDeadHosts(time.Now, os.Getpid())
	s := &remote.Server{Queue: queue.Layout{Root: filepath.Join(root, "queue")}, SendUID: ipc.EnvUID("GOQMAIL_SEND_UID"), Log: log}
	// load reads control/ and smtproutes and switches to them, or changes
	// nothing: a bad route line is an error, since leaving the route out
	// would send that domain's mail to its MX instead of the relay.
	mc := metrics.FromEnv(metrics.FromRemote, root) // one client across reloads: its counts go on
	load := func() error {
		snap, err := control.Load(filepath.Join(root, "control"))
		if err != nil {
			return err
		}
		for _, w := range snap.Warnings {
			log.Printf("warning: %s", w)
		}
		items, err := snap.ReadList(control.SMTPRoutes)
		if err != nil {
			return fmt.Errorf("control/smtproutes: %w", err)
		}
		routes, errs := route.ParseRoutesAt(control.Texts(items), control.LineNos(items))
		if len(errs) > 0 {
			for i, e := range errs {
				errs[i] = fmt.Errorf("control/%w", e) // one error per line for the log
			}
			return errors.Join(errs...)
		}
		addrs, err := route.InterfaceAddrs()
		if err != nil {
			log.Printf("warning: listing this host's addresses: %v", err)
		}
		c := &remote.Client{
			Resolver:       resolver,
			Routes:         routes,
			LocalNames:     []string{snap.Line(control.Me), snap.Line(control.HeloHost)},
			LocalAddrs:     addrs,
			Port:           port,
			HeloHost:       snap.Line(control.HeloHost),
			ConnectTimeout: time.Duration(snap.Number(control.TimeoutConnect)) * time.Second,
			ReplyTimeout:   time.Duration(snap.Number(control.TimeoutRemote)) * time.Second,
			Dead:           dead,
			// qmail has no per-destination limit below concurrencyremote;
			// with a fixed 10 a burst to one relay waited for connections
			// (docs/bench.md, relaying).
			MaxPerDest: int(snap.Number(control.ConcurrencyRemote)),
			Log:        log,
			Metrics:    mc,
			TLSConfig:  &tls.Config{RootCAs: roots},
		}
		if snap.Number(control.MTASTS) == 1 {
			c.MTASTS = stsCache
		}
		if snap.Number(control.DANE) == 1 {
			c.DANE = resolver
		}
		c.Report = report
		from, host := snap.Line(control.TLSRPTFrom), snap.Line(control.Me)
		rptFrom.Store(&from)
		me.Store(&host)
		s.SetClient(c, control.NewDomainSet(snap.List(control.TLSDestinations)))
		return nil
	}
	if err := load(); err != nil {
		log.ConfigFatalf(control.ErrorLines(err)...)
	}
	ln, err := ipc.InheritedListener(3, "remote")
	if err != nil {
		log.Fatalf("%v", err)
	}
	go func() {
		for sig := range sigs {
			if sig == syscall.SIGHUP {
				if err := load(); err != nil {
					log.ReloadFailed(control.ErrorLines(err))
					continue
				}
				log.Printf("status: configuration reloaded")
				continue
			}
			ln.Close()
			s.Wait(60 * time.Second)
			os.Exit(0)
		}
	}()
	s.Serve(ln.(*net.UnixListener))
	select {} // the signal handler exits
}

// testRoots reads GOQMAIL_TLS_ROOTS: nil (the system's roots) when unset.
func testRoots(path string) (*x509.CertPool, error) {
	if path == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}

// sendReports hands the finished days' TLS reports to the sender once an
// hour (RFC 8460 4.1: a report covers one UTC day), when control/tlsrptfrom
// names a sender; without one the counts are dropped with a log line.
func sendReports(log *logline.Logger, st *tlsrpt.Store, snd *tlsrpt.Sender, from, me *atomic.Pointer[string]) {
	for range time.Tick(time.Hour) {
		reports := st.Take(time.Now())
		if len(reports) == 0 {
			continue
		}
		f, m := from.Load(), me.Load()
		if f == nil || *f == "" {
			log.Printf("TLS reports for %d domains not sent: control/tlsrptfrom is empty", len(reports))
			continue
		}
		snd.From, snd.Submitter = *f, *m
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		snd.Send(ctx, reports, time.Now())
		cancel()
	}
}
