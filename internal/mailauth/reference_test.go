package mailauth

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"goqmail/internal/route/dnstest"
)

// The independent side of the tests: Debian's python3-dkim (dkimsign's
// library) signs, and python3-dkim, python3-spf and python3-authheaders
// verify (testdata/reference.py). .ci/run installs them.

const python = "/usr/bin/python3"

// requirePython fails when the reference libraries are missing: a machine
// without them was not set up, which must not pass as green.
func requirePython(t *testing.T) {
	t.Helper()
	out, err := exec.Command(python, "-c", "import dkim, nacl, spf, authres, authheaders").CombinedOutput()
	if err != nil {
		t.Fatalf("the reference verifier needs Debian's python3-dkim python3-nacl python3-spf python3-authheaders (apt-get install them; .ci/run does): %v\n%s", err, out)
	}
}

// keys are the test's DKIM keys: private halves for the signer, public
// ones as DNS records.
type keys struct {
	rsa1024, rsa2048 *rsa.PrivateKey
	ed               ed25519.PrivateKey
}

func newKeys(t *testing.T) *keys {
	t.Helper()
	k := &keys{}
	var err error
	if k.rsa1024, err = rsa.GenerateKey(rand.Reader, 1024); err != nil {
		t.Fatal(err)
	}
	if k.rsa2048, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if _, k.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
		t.Fatal(err)
	}
	return k
}

// private returns a key as dkimsign reads it: PEM for RSA, the base64
// seed for Ed25519 (as dknewkey writes them).
func (k *keys) private(name string) string {
	switch name {
	case "rsa1024", "rsa2048":
		key := k.rsa1024
		if name == "rsa2048" {
			key = k.rsa2048
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	case "ed25519":
		return base64.StdEncoding.EncodeToString(k.ed.Seed())
	}
	panic("no key " + name)
}

// record returns the DKIM key record of a key (RFC 6376 3.6.1).
func (k *keys) record(name string) string {
	switch name {
	case "rsa1024", "rsa2048":
		key := k.rsa1024
		if name == "rsa2048" {
			key = k.rsa2048
		}
		der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
		if err != nil {
			panic(err)
		}
		return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der)
	case "ed25519":
		return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(k.ed.Public().(ed25519.PublicKey))
	}
	panic("no key " + name)
}

// txtRR writes a TXT record in zone syntax, cut into strings of at most
// 255 bytes (RFC 1035 3.3.14; DKIM keys are longer).
func txtRR(name, value string) string {
	var parts []string
	for len(value) > 255 {
		parts = append(parts, `"`+value[:255]+`"`)
		value = value[255:]
	}
	parts = append(parts, `"`+value+`"`)
	return name + " 60 IN TXT " + strings.Join(parts, " ")
}

// reference runs testdata/reference.py on requests and decodes its answers
// into out (a pointer to a slice).
func reference(t *testing.T, dns *dnstest.Server, timeout time.Duration, reqs []map[string]any, out any) {
	t.Helper()
	in, err := json.Marshal(reqs)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, "testdata/reference.py", dns.Addr, fmt.Sprint(timeout.Seconds()))
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("reference.py: %v\n%s", err, stderr.String())
	}
	if err := json.Unmarshal(stdout, out); err != nil {
		t.Fatalf("reference.py answered %q: %v\n%s", stdout, err, stderr.String())
	}
}

// signRequest asks the reference signer for a DKIM-Signature.
func signRequest(msg string, s sig, k *keys) map[string]any {
	alg := "rsa-sha256"
	if s.key == "ed25519" {
		alg = "ed25519-sha256"
	}
	h, b := s.hcanon, s.bcanon
	if h == "" {
		h = "relaxed"
	}
	if b == "" {
		b = "simple"
	}
	return map[string]any{"op": "sign", "message": msg, "domain": s.domain, "selector": s.selector,
		"key": k.private(s.key), "alg": alg, "hcanon": h, "bcanon": b}
}
