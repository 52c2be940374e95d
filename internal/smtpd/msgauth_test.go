package smtpd

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"goqmail/internal/control"
)

// A setting that asks for a refusal its check cannot give stops the
// start, naming the file and the fix, instead of refusing nothing.
func TestAuthConfigFailsClosed(t *testing.T) {
	for _, c := range []struct {
		files map[string]string
		want  string // "" loads
	}{
		{map[string]string{"spfreject": "example.org\n"}, "control/spfreject: lists domains, but control/spfcheck is not 1"},
		{map[string]string{"spfreject": "*\n"}, "write 1 into control/spfcheck, or empty control/spfreject"},
		{map[string]string{"dmarccheck": "1\n", "spfcheck": "1\n"}, "control/dmarccheck: is 1, but DMARC needs both SPF and DKIM"},
		{map[string]string{"dmarcreject": "1\n", "spfcheck": "1\n", "dkimcheck": "1\n"}, "control/dmarcreject: is 1, but control/dmarccheck is not"},
		{map[string]string{"spfreject": "bad..domain\n", "spfcheck": "1\n"}, "control/spfreject line 1"},
		{map[string]string{"spfcheck": "2\n"}, "control/spfcheck"},
		{map[string]string{"spfreject": ".example.org\n*\n", "spfcheck": "1\n", "dkimcheck": "1\n", "dmarccheck": "1\n", "dmarcreject": "1\n"}, ""},
	} {
		dir := t.TempDir()
		files := map[string]string{"me": "mail.example.org\n", "rcpthosts": "example.org\n"}
		for k, v := range c.files {
			files[k] = v
		}
		for k, v := range files {
			if err := os.WriteFile(filepath.Join(dir, k), []byte(v), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		cfg, _, err := LoadConfig(dir)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%v: %v", c.files, err)
		case c.want == "" && !(cfg.Auth.SPFRejectAll && cfg.Auth.SPFReject.Match("a.example.org") && cfg.Auth.DMARCReject):
			t.Errorf("%v: loaded %+v", c.files, cfg.Auth)
		case c.want != "" && (err == nil || !strings.Contains(strings.Join(control.ErrorLines(err), "\n"), c.want)):
			t.Errorf("%v: error %v, want one saying %q", c.files, err, c.want)
		case c.want != "" && !errors.Is(err, control.ErrInvalid):
			t.Errorf("%v: %v is not control.ErrInvalid (the start must stop with the config exit code)", c.files, err)
		}
	}
}
