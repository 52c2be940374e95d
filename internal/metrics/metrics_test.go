package metrics

import (
	"errors"
	"math"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"goqmail/internal/ipc"
)

// TestCatalogNames: Prometheus conventions (goqmail_ prefix, _total on
// counters only, base units), label values without duplicates, increasing
// buckets.
func TestCatalogNames(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range All {
		if seen[f.Name] {
			t.Errorf("%s declared twice", f.Name)
		}
		seen[f.Name] = true
		if !strings.HasPrefix(f.Name, "goqmail_") {
			t.Errorf("%s: no goqmail_ prefix", f.Name)
		}
		if (f.Kind == Counter) != strings.HasSuffix(f.Name, "_total") {
			t.Errorf("%s: a counter's name ends in _total, and only a counter's", f.Name)
		}
		if f.Kind == Histogram && !strings.HasSuffix(f.Name, "_seconds") {
			t.Errorf("%s: histograms here measure seconds", f.Name)
		}
		for i := 1; i < len(f.Buckets); i++ {
			if f.Buckets[i] <= f.Buckets[i-1] {
				t.Errorf("%s: buckets not increasing", f.Name)
			}
		}
		for _, l := range f.Labels {
			vals := map[string]bool{}
			for _, v := range l.Values {
				if vals[v] {
					t.Errorf("%s: label %s value %s twice", f.Name, l.Name, v)
				}
				vals[v] = true
			}
		}
		if len(f.From) == 0 || f.Help == "" {
			t.Errorf("%s: needs a program and a help text", f.Name)
		}
	}
}

func sample() *Client {
	c := &Client{prog: FromSend, fd: -1, series: map[string]*Series{}}
	c.Inc(Deliveries, "local", "success")
	c.Add(Deliveries, 2, "remote", "deferral")
	c.Set(QueueMessages, 7)
	c.Observe(DeliveryDuration, 30*time.Millisecond, "local")
	c.Observe(DeliveryDuration, time.Hour, "local") // past the last bucket: +Inf
	return c
}

func TestRoundTrip(t *testing.T) {
	c := sample()
	c.dropped = 3
	var s Snapshot
	s.Program, s.Dropped = c.prog, c.dropped
	for _, se := range c.order {
		s.Series = append(s.Series, *se)
	}
	got, err := Decode(Encode(s, nil))
	if err != nil {
		t.Fatal(err)
	}
	if got.Program != "send" || got.Dropped != 3 || len(got.Series) != 4 {
		t.Fatalf("decoded %+v", got)
	}
	h := got.Series[3]
	if h.Family != DeliveryDuration || h.HistCount() != 2 || h.Buckets[len(h.Buckets)-1] != 1 || h.Buckets[3] != 1 {
		t.Errorf("histogram %+v: want one observation in the 0.05 bucket and one in +Inf", h)
	}
	if math.Abs(h.Sum-3600.03) > 1e-9 {
		t.Errorf("sum %v", h.Sum)
	}
}

// TestClientIgnoresWhatTheCatalogRefuses: a label value or a family the
// program may not report is not counted (and so never sent).
func TestClientIgnoresWhatTheCatalogRefuses(t *testing.T) {
	c := &Client{prog: FromSend, fd: -1, series: map[string]*Series{}}
	c.Inc(Deliveries, "local", "maybe")
	c.Inc(SMTPAccepted, "smtp") // smtpd's
	c.Inc(Deliveries, "local")  // a label missing
	if len(c.order) != 0 {
		t.Errorf("counted %v", c.order)
	}
	var nilClient *Client
	nilClient.Inc(Deliveries, "local", "success") // metrics off: no panic
	if err := nilClient.Flush(); err != nil {
		t.Error(err)
	}
}

// TestDecodeRefuses: every rule of the catalog and the frame format.
func TestDecodeRefuses(t *testing.T) {
	good := func() Snapshot {
		return Snapshot{Program: FromSMTPD, Series: []Series{{Family: SMTPAccepted, Labels: []string{"smtp"}, Value: Value{Count: 1}}}}
	}
	if _, err := Decode(Encode(good(), nil)); err != nil {
		t.Fatalf("good snapshot refused: %v", err)
	}
	cases := map[string][]byte{}
	s := good()
	s.Program = "lspawn"
	cases["unknown program"] = Encode(s, nil)
	s = good()
	s.Series[0].Family = Deliveries
	s.Series[0].Labels = []string{"local", "success"}
	cases["smtpd reporting send's metric"] = Encode(s, nil)
	s = good()
	s.Series[0].Labels = []string{"imap"}
	cases["label value not in the catalog"] = Encode(s, nil)
	s = good()
	s.Series = append(s.Series, s.Series[0])
	cases["series twice"] = Encode(s, nil)
	s = Snapshot{Program: FromSend, Series: []Series{{Family: QueueMessages, Value: Value{Gauge: math.NaN()}}}}
	cases["NaN gauge"] = Encode(s, nil)
	s = Snapshot{Program: FromSend, Series: []Series{{Family: DeliveryDuration, Labels: []string{"local"}, Value: Value{Buckets: []uint64{1}}}}}
	cases["wrong bucket count"] = Encode(s, nil)
	b := Encode(good(), nil)
	cases["trailing byte"] = append(b[:len(b):len(b)], 0)
	cases["truncated"] = b[:len(b)-1]
	cases["other version"] = append([]byte{ipc.Version + 1}, b[1:]...)
	unknown := ipc.New(frameSnapshot, nil).String(FromSMTPD).Uint(0).Uint(1).String("goqmail_nope_total").Uint(0).Uint(1).Body()
	cases["unknown family"] = unknown
	many := ipc.New(frameSnapshot, nil).String(FromSMTPD).Uint(0).Uint(MaxSeries + 1).Body()
	cases["too many series"] = many
	for name, body := range cases {
		if _, err := Decode(body); !errors.Is(err, ErrRefused) {
			t.Errorf("%s: err = %v, want ErrRefused", name, err)
		}
	}
}

// TestFlushNeverBlocks: with nobody reading the socket, flushes go on
// returning at once, and the dropped count says how many were lost; the
// next snapshot that gets through carries it.
func TestFlushNeverBlocks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.sock")
	srv, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c := New(FromSMTPD, path)
	c.Inc(SMTPAccepted, "smtp")
	const tries = 2000 // far past the socket's queue (net.unix.max_dgram_qlen, the receive buffer)
	for range tries {
		c.Flush()
	}
	dropped := c.Dropped()
	if dropped == 0 || dropped >= tries {
		t.Fatalf("dropped %d of %d snapshots to a socket nobody reads", dropped, tries)
	}
	// Drain, then one more gets through with the count.
	buf := make([]byte, MaxDatagram)
	srv.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	for {
		if _, _, err := srv.ReadFromUnix(buf); err != nil {
			break
		}
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	srv.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := srv.ReadFromUnix(buf)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Decode(buf[:n])
	if err != nil {
		t.Fatal(err)
	}
	if s.Dropped != dropped {
		t.Errorf("snapshot says %d dropped, the client counted %d", s.Dropped, dropped)
	}
	// No socket at all: still no error that stops anything, just drops.
	gone := New(FromSMTPD, filepath.Join(t.TempDir(), "none.sock"))
	if gone.Flush() == nil || gone.Dropped() != 1 {
		t.Errorf("a missing socket: dropped %d", gone.Dropped())
	}
}
