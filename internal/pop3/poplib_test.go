package pop3

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// poplibScript drives the server with Python's poplib, a client we did not
// write: login, LIST, UIDL, RETR of every message, DELE 2, QUIT.
const poplibScript = `
import json, poplib, sys
p = poplib.POP3(sys.argv[1], int(sys.argv[2]), timeout=10)
p.user("other"); p.pass_("x")
out = {"stat": list(p.stat())}
out["list"] = [l.decode() for l in p.list()[1]]
out["uidl"] = [l.decode() for l in p.uidl()[1]]
out["retr"] = []
for n in range(1, len(out["list"]) + 1):
    resp, lines, octets = p.retr(n)
    out["retr"].append({"octets": octets, "text": b"\r\n".join(lines).decode() + "\r\n"})
out["capa"] = sorted(p.capa().keys())
p.dele(2)
out["quit"] = p.quit().decode()
print(json.dumps(out))
`

func TestPythonPoplib(t *testing.T) {
	python := "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		t.Skip("no /usr/bin/python3")
	}
	ts := startServer(t, nil, false)
	host, port, _ := strings.Cut(ts.addr, ":")
	out, err := exec.Command(python, "-c", poplibScript, host, port).CombinedOutput()
	if err != nil {
		t.Fatalf("poplib: %v\n%s", err, out)
	}
	var got struct {
		Stat []int
		List []string
		Uidl []string
		Retr []struct {
			Octets int
			Text   string
		}
		Capa []string
		Quit string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	msgs := []string{msgA, msgB, msgC}
	if len(got.Retr) != 3 || got.Stat[0] != 3 || len(got.Uidl) != 3 {
		t.Fatalf("poplib saw %+v", got)
	}
	total := 0
	for i, r := range got.Retr {
		size, _ := strconv.Atoi(strings.Fields(got.List[i])[1])
		total += size
		// poplib's octet count is what it reassembled after unstuffing:
		// it must equal the size LIST announced.
		if r.Octets != size || len(r.Text) != size {
			t.Errorf("message %d: LIST says %d, RETR gave %d octets (%d text)", i+1, size, r.Octets, len(r.Text))
		}
		want := strings.ReplaceAll(strings.ReplaceAll(msgs[i], "\r\n", "\n"), "\n", "\r\n")
		if !strings.HasSuffix(want, "\r\n") {
			want += "\r\n"
		}
		if r.Text != want {
			t.Errorf("message %d text %q, want %q", i+1, r.Text, want)
		}
	}
	if got.Stat[1] != total {
		t.Errorf("STAT octets %d, sum of LIST %d", got.Stat[1], total)
	}
	if strings.Join(got.Uidl, ",") != "1 "+uidA+",2 "+uidB+",3 "+uidC {
		t.Errorf("UIDL %v", got.Uidl)
	}
	if !strings.HasPrefix(got.Quit, "+OK") {
		t.Errorf("QUIT %q", got.Quit)
	}
	md := ts.auth.maildir
	if _, err := os.Stat(filepath.Join(md, "new", uidB)); err == nil {
		t.Error("DELE 2 then QUIT left the message")
	}
	for _, f := range []string{"cur/" + uidA + ":2,FS", "cur/" + uidC + ":2,S"} {
		if _, err := os.Stat(filepath.Join(md, f)); err != nil {
			t.Errorf("retrieved message not marked seen: %v", err)
		}
	}
}
