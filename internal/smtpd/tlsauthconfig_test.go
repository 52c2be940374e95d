package smtpd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadTLSAuthControls(t *testing.T) {
	for _, tc := range []struct {
		name          string
		files         map[string]string
		wantTLS       bool
		wantPlaintext bool
		wantSenders   bool
		wantWarning   string
	}{
		{name: "defaults", wantSenders: true},
		{name: "certificate", files: map[string]string{"servercert.pem": "CERT"}, wantTLS: true, wantSenders: true},
		{name: "broken certificate: no TLS, a warning", files: map[string]string{"servercert.pem": "junk\n"},
			wantSenders: true, wantWarning: "no TLS: control/servercert.pem"},
		{name: "authplaintext 1, authsenders 0", files: map[string]string{"authplaintext": "1\n", "authsenders": "0\n"},
			wantPlaintext: true},
		{name: "not numbers keep the defaults", files: map[string]string{"authplaintext": "yes\n", "authsenders": "no\n"},
			wantSenders: true, wantWarning: "control/authplaintext: \"yes\" is not a number >= 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "control")
			os.Mkdir(dir, 0o755)
			os.WriteFile(filepath.Join(dir, "me"), []byte("mail.example.org\n"), 0o644)
			for name, content := range tc.files {
				if content == "CERT" {
					writeTestCert(t, filepath.Join(dir, name))
					continue
				}
				os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644)
			}
			cfg, warnings, err := LoadConfig(dir)
			if err != nil {
				t.Fatal(err)
			}
			if (cfg.TLS != nil) != tc.wantTLS || cfg.AuthPlaintext != tc.wantPlaintext || cfg.AuthSenders != tc.wantSenders {
				t.Errorf("TLS %v, authplaintext %v, authsenders %v", cfg.TLS != nil, cfg.AuthPlaintext, cfg.AuthSenders)
			}
			all := strings.Join(warnings, "\n")
			if tc.wantWarning != "" && !strings.Contains(all, tc.wantWarning) {
				t.Errorf("warnings %q lack %q", all, tc.wantWarning)
			}
			if tc.wantTLS && cfg.TLS.MinVersion < 0x0303 {
				t.Error("TLS below 1.2 allowed")
			}
		})
	}
}
