package supervise

import (
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"

	"goqmail/internal/control"
	"goqmail/internal/mdsection"
)

var update = flag.Bool("update", false, "rewrite the generated tables of docs/processes.md")

const regenerate = "generated from internal/supervise/table.go and internal/accounts by `go test ./internal/supervise -run TestProcessDocUpToDate -update`"

func TestProcessDocUpToDate(t *testing.T) {
	for _, sec := range []struct{ name, body string }{
		{"programs", programsMarkdown()},
		{"sockets", socketsMarkdown()},
		{"accounts", accountsMarkdown()},
	} {
		stale, err := mdsection.Sync("../../docs/processes.md", sec.name, regenerate, sec.body, *update)
		if err != nil {
			t.Fatal(err)
		}
		if stale && !*update {
			t.Errorf("the %s table in docs/processes.md is stale: run go test ./internal/supervise -run TestProcessDocUpToDate -update", sec.name)
		}
	}
}

// TestTableConsistent: every descriptor a service is given is a declared
// socket or listener kind, and every socket has exactly one server.
func TestTableConsistent(t *testing.T) {
	served := map[string]int{}
	for _, svc := range Services {
		for _, name := range svc.Sockets {
			if _, ok := listener(name); ok {
				continue
			}
			found := false
			for _, sk := range Sockets {
				found = found || sk.Name == name
			}
			if !found {
				t.Errorf("service %s gets %q, which is neither a socket nor a listener kind", svc.Name, name)
			}
			served[name]++
		}
	}
	for _, sk := range Sockets {
		if served[sk.Name] != 1 {
			t.Errorf("socket %s has %d servers, want 1", sk.Name, served[sk.Name])
		}
	}
}

// TestSocketModes: the modes the doc states (Socket.Mode) are the modes
// the supervisor gives the sockets it creates.
func TestSocketModes(t *testing.T) {
	root := t.TempDir()
	ctl := filepath.Join(root, "control")
	os.MkdirAll(ctl, 0o755)
	os.MkdirAll(filepath.Join(root, "run"), 0o755)
	os.WriteFile(filepath.Join(ctl, "me"), []byte("test.example\n"), 0o644)
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a free port: 0 itself is not a valid smtplisten
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	os.WriteFile(filepath.Join(ctl, "smtplisten"), []byte(fmt.Sprintf("127.0.0.1:%d\n", port)), 0o644)
	snap, err := control.Load(ctl)
	if err != nil {
		t.Fatal(err)
	}
	s := &Supervisor{Root: root}
	if err := s.makeSockets(snap); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, fs := range s.files {
			for _, f := range fs {
				f.Close()
			}
		}
	})
	for _, sk := range Sockets {
		st, err := os.Stat(filepath.Join(root, "run", sk.File))
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode().Perm(); got != sk.Mode() {
			t.Errorf("run/%s: mode %04o, Socket.Mode says %04o", sk.File, got, sk.Mode())
		}
	}
}
