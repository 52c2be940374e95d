package smtpd

import (
	"crypto/tls"
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
		wantErr       string
	}{
		{name: "defaults", wantSenders: true},
		{name: "certificate", files: map[string]string{"servercert.pem": "CERT"}, wantTLS: true, wantSenders: true},
		// Both were warnings that went on without TLS or with the default.
		{name: "broken certificate is an error", files: map[string]string{"servercert.pem": "junk\n"},
			wantErr: "control/servercert.pem: tls certificate"},
		{name: "unreadable certificate is an error", files: map[string]string{"servercert.pem": "DIR"},
			wantErr: "control/servercert.pem: tls certificate"},
		{name: "authplaintext 1, authsenders 0", files: map[string]string{"authplaintext": "1\n", "authsenders": "0\n"},
			wantPlaintext: true},
		{name: "not numbers are errors", files: map[string]string{"authplaintext": "yes\n", "authsenders": "no\n"},
			wantErr: `control/authplaintext line 1: "yes" is not 0 or 1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "control")
			os.Mkdir(dir, 0o755)
			os.WriteFile(filepath.Join(dir, "me"), []byte("mail.example.org\n"), 0o644)
			for name, content := range tc.files {
				switch content {
				case "CERT":
					writeTestCert(t, filepath.Join(dir, name))
				case "DIR": // unreadable even by root
					os.Mkdir(filepath.Join(dir, name), 0o755)
				default:
					os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644)
				}
			}
			cfg, _, err := LoadConfig(dir)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (cfg.TLS != nil) != tc.wantTLS || cfg.AuthPlaintext != tc.wantPlaintext || cfg.AuthSenders != tc.wantSenders {
				t.Errorf("TLS %v, authplaintext %v, authsenders %v", cfg.TLS != nil, cfg.AuthPlaintext, cfg.AuthSenders)
			}
			if tc.wantTLS && cfg.TLS.MinVersion < 0x0303 {
				t.Error("TLS below 1.2 allowed")
			}
		})
	}
}

// TestCheckListeners: listeners that need TLS are refused without a
// certificate (smtpd warned and closed every smtps connection).
func TestCheckListeners(t *testing.T) {
	noTLS, plain := &Config{}, &Config{AuthPlaintext: true}
	withTLS := &Config{TLS: &tls.Config{}}
	for _, tc := range []struct {
		cfg   *Config
		kinds []Kind
		want  string
	}{
		{noTLS, []Kind{KindSMTP}, ""},
		{noTLS, []Kind{KindSMTP, KindSMTPS}, "smtps listener"},
		{noTLS, []Kind{KindSubmission}, "submission listener"},
		{plain, []Kind{KindSubmission}, ""},
		{plain, []Kind{KindSMTPS}, "smtps listener"},
		{withTLS, []Kind{KindSMTP, KindSubmission, KindSMTPS}, ""},
	} {
		err := CheckListeners(tc.cfg, tc.kinds)
		if (err == nil) != (tc.want == "") || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v with TLS %v, authplaintext %v: %v, want %q", tc.kinds, tc.cfg.TLS != nil, tc.cfg.AuthPlaintext, err, tc.want)
		}
	}
}
