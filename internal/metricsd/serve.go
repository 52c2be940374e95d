package metricsd

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sys/unix"

	"goqmail/internal/logline"
	"goqmail/internal/metrics"
)

// Receive reads datagrams from conn until it is closed, each with the
// sender's credentials (SO_PASSCRED), and applies them to st. Refusals
// are logged at most once a minute (a flood must not flood the log).
func Receive(conn *net.UnixConn, st *State, log *logline.Logger) error {
	if err := PassCred(conn); err != nil {
		return err
	}
	buf := make([]byte, metrics.MaxDatagram+1)
	oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred))
	var lastSaid time.Time
	say := func(format string, args ...any) {
		if time.Since(lastSaid) >= time.Minute {
			lastSaid = time.Now()
			log.Printf("warning: "+format+" (further refusals for a minute are only counted)", args...)
		}
	}
	for {
		n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		if err != nil {
			return err
		}
		cred, ok := credentials(oob[:oobn])
		if !ok {
			st.Refuse("credentials")
			say("a datagram without sender credentials refused")
			continue
		}
		if err := st.Apply(int(cred.Uid), int(cred.Pid), buf[:n], time.Now()); err != nil {
			say("%v", err)
		}
	}
}

// PassCred turns SO_PASSCRED on: the kernel attaches the sender's
// credentials to every datagram sent from then on. The supervisor sets it
// when it makes the socket; a datagram queued before has none (pid 0).
func PassCred(conn *net.UnixConn) error {
	raw, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1)
	}); err != nil || serr != nil {
		return fmt.Errorf("SO_PASSCRED on the metrics socket: %w", errors.Join(err, serr))
	}
	return nil
}

func credentials(oob []byte) (*unix.Ucred, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil || len(msgs) != 1 {
		return nil, false
	}
	c, err := unix.ParseUnixCredentials(&msgs[0])
	return c, err == nil && c.Pid != 0
}

// Handler is the HTTP side: /metrics in Prometheus's text format, and a
// line at / that says where they are.
func Handler(st *State, log *logline.Logger) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(st), collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: logAdapter{log}}))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "goqmail metrics: /metrics")
	})
	return mux
}

type logAdapter struct{ log *logline.Logger }

func (a logAdapter) Println(v ...any) { a.log.Printf("warning: %s", fmt.Sprint(v...)) }

// Serve serves h on ln with timeouts, so a slow scraper holds nothing
// for long.
func Serve(ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 16 << 10}
	err := srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
