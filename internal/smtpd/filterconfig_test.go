package smtpd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"goqmail/internal/control"
)

// TestFilterConfigFailsClosed: a hook that cannot work stops the start
// (and a reload keeps the old configuration: main uses the same
// LoadConfig), naming the file, the line and the fix, instead of letting
// mail through unfiltered.
func TestFilterConfigFailsClosed(t *testing.T) {
	for _, c := range []struct {
		file, content, want string
	}{
		{"milters", "inet:127.0.0.1:11332\nrspamd\n", "control/milters line 2: "},
		{"milters", "inet:127.0.0.1:11332 onfail=maybe\n", "control/milters line 1: onfail=maybe: want tempfail or accept"},
		{"smtpplugins", "[rcpt]\nplugins/nothere\n", "control/smtpplugins line 2: "},
		{"smtpplugins", ":echo N\n", "control/smtpplugins line 1: plugin \":echo N\" is not under a known section"},
		{"qmailqueue", "/nonexistent/simscan\n", "control/qmailqueue line 1: "},
		{"tcp.smtp", "127.:allow,QMAILQUEUE=\"simscan\"\n", "control/tcp.smtp line 1: QMAILQUEUE: \"simscan\" is not an absolute path"},
		{"tcp.smtp", "127.:allow,SPPCONFFILE=\"control/none\"\n", "control/none: "},
	} {
		root := t.TempDir()
		dir := filepath.Join(root, "control")
		os.Mkdir(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "me"), []byte("mail.example.org\n"), 0o644)
		os.WriteFile(filepath.Join(dir, c.file), []byte(c.content), 0o644)
		_, _, err := LoadConfig(dir)
		lines := control.ErrorLines(err)
		if err == nil || len(lines) != 1 || !strings.HasPrefix(lines[0], c.want) || !strings.Contains(lines[0], "; ") {
			t.Errorf("%s %q: LoadConfig said %q, want one problem starting %q with a fix", c.file, c.content, lines, c.want)
		}
		// sendmail -bs reads no hook: its sessions pass through none.
		if cfg, _, err := LoadLocalConfig(dir); err != nil || cfg.filters != nil {
			t.Errorf("%s %q: LoadLocalConfig: %v", c.file, c.content, err)
		}
	}
}
