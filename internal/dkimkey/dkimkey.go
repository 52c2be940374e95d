// Package dkimkey is where goqmail keeps its DKIM keys and how it writes
// and reads them: one private key per file, ROOT/dkim/DOMAIN/SELECTOR.key
// (PKCS #8, PEM), owned by the signer's account with mode 0600 in
// directories of mode 0700, and the DNS record that publishes each key's
// public half (RFC 6376 3.6.1; RFC 8463 for Ed25519).
//
// The private keys are read by goqmail-dkimsign, which holds nothing else,
// and by root's admin commands (keygen, show, list, dns records); no other
// program may open them (DESIGN.md, the "signer" row).
package dkimkey

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"goqmail/internal/control"
	"goqmail/internal/dirsync"
)

// Dir is the key directory under ROOT.
const Dir = "dkim"

// Algorithms a key may have: RSA with 2048 bits (RFC 8301 3.2: at least
// 1024, 2048 recommended; larger keys outgrow a 512-byte UDP answer and
// some providers' TXT limits) and Ed25519 (RFC 8463). Receivers that do
// not know Ed25519 yet ignore its signature (RFC 8463 5), so a domain that
// wants both signs with one key of each only by running two selectors;
// goqmail signs with one key per domain.
const (
	RSA     = "rsa"
	Ed25519 = "ed25519"
	rsaBits = 2048
)

// DomainDir is ROOT/dkim/DOMAIN (lower case).
func DomainDir(root, domain string) string {
	return filepath.Join(root, Dir, strings.ToLower(domain))
}

// Path is the key file of a domain and selector.
func Path(root, domain, selector string) string {
	return filepath.Join(DomainDir(root, domain), selector+".key")
}

// RecordName is the DNS name of a key's TXT record (RFC 6376 3.6.2.1).
func RecordName(domain, selector string) string {
	return selector + "._domainkey." + strings.ToLower(domain)
}

// Generate makes a new private key of the algorithm (RSA or Ed25519).
func Generate(alg string) (crypto.Signer, error) {
	switch alg {
	case RSA:
		return rsa.GenerateKey(rand.Reader, rsaBits)
	case Ed25519:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}
	return nil, fmt.Errorf("unknown algorithm %q: use rsa or ed25519", alg)
}

// Marshal encodes a private key as PKCS #8 PEM.
func Marshal(k crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// Parse reads a PEM private key: PKCS #8 (what keygen writes), or PKCS #1
// "RSA PRIVATE KEY" (what opendkim-genkey and the qmail DKIM patches
// wrote), so a site can bring its old keys.
func Parse(data []byte) (crypto.Signer, error) {
	b, rest := pem.Decode(data)
	if b == nil {
		return nil, errors.New("no PEM block: not a private key file")
	}
	if len(strings.TrimSpace(string(rest))) > 0 {
		return nil, errors.New("more than one PEM block")
	}
	var k any
	var err error
	switch b.Type {
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	default:
		return nil, fmt.Errorf("PEM block %q is not a private key", b.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("parse key: %w", err)
	}
	switch k := k.(type) {
	case *rsa.PrivateKey:
		if n := k.N.BitLen(); n < 1024 {
			// RFC 8301 3.2: verifiers must not accept keys under 1024 bits.
			return nil, fmt.Errorf("RSA key of %d bits: verifiers refuse keys under 1024 bits (RFC 8301); make a new one", n)
		}
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("key type %T: DKIM signs with RSA or Ed25519", k)
}

// Load reads and parses a key file.
func Load(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// Algorithm names a key's algorithm as the k= tag does.
func Algorithm(pub crypto.PublicKey) string {
	if _, ok := pub.(ed25519.PublicKey); ok {
		return Ed25519
	}
	return RSA
}

// Record is the TXT record that publishes pub (RFC 6376 3.6.1): for RSA
// the DER SubjectPublicKeyInfo, for Ed25519 the 32 raw bytes (RFC 8463 4).
func Record(pub crypto.PublicKey) (string, error) {
	var raw []byte
	switch p := pub.(type) {
	case ed25519.PublicKey:
		raw = p
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(p)
		if err != nil {
			return "", err
		}
		raw = der
	default:
		return "", fmt.Errorf("key type %T: DKIM signs with RSA or Ed25519", pub)
	}
	return "v=DKIM1; k=" + Algorithm(pub) + "; p=" + base64.StdEncoding.EncodeToString(raw), nil
}

// PublicOf extracts p= from a published record, for comparison.
func PublicOf(record string) string {
	for _, tag := range strings.Split(record, ";") {
		name, value, ok := strings.Cut(tag, "=")
		if ok && strings.TrimSpace(name) == "p" {
			return strings.Join(strings.Fields(value), "")
		}
	}
	return ""
}

// Write stores a new key for domain and selector, owned by uid:gid (both
// -1: the caller's), 0600 in 0700 directories. It never replaces a key:
// a selector that exists is an error (a published record would no longer
// match its key).
func Write(root, domain, selector string, k crypto.Signer, uid, gid int) (string, error) {
	if err := control.CheckSelector(selector); err != nil {
		return "", err
	}
	data, err := Marshal(k)
	if err != nil {
		return "", err
	}
	for _, d := range []string{filepath.Join(root, Dir), DomainDir(root, domain)} {
		if err := os.Mkdir(d, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return "", err
		}
		if err := os.Chmod(d, 0o700); err != nil {
			return "", err
		}
		if err := os.Chown(d, uid, gid); err != nil {
			return "", err
		}
	}
	path := Path(root, domain, selector)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return "", fmt.Errorf("%s exists: choose another selector (a published record must keep its key)", path)
		}
		return "", err
	}
	fail := func(err error) (string, error) {
		f.Close()
		os.Remove(path)
		return "", err
	}
	if err := f.Chown(uid, gid); err != nil {
		return fail(err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return "", err
	}
	return path, dirsync.Dir(filepath.Dir(path))
}

// Selectors lists the selectors with a key file for domain, sorted.
func Selectors(root, domain string) ([]string, error) {
	ents, err := os.ReadDir(DomainDir(root, domain))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if sel, ok := strings.CutSuffix(e.Name(), ".key"); ok && e.Type().IsRegular() && control.CheckSelector(sel) == nil {
			out = append(out, sel)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Domains lists the domains that have a key directory, sorted.
func Domains(root string) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(root, Dir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// Active parses dkimkeys lines into domain (lower case) -> selector.
func Active(lines []string) map[string]string {
	m := map[string]string{}
	for _, l := range lines {
		if d, sel, ok := strings.Cut(l, ":"); ok {
			m[strings.ToLower(d)] = sel
		}
	}
	return m
}

// ZoneTXT is a TXT record in zone-file syntax on one line, the value cut
// into strings of at most 255 bytes (RFC 1035 3.3.14; RFC 6376 3.6.2.2:
// the strings are joined without spaces).
func ZoneTXT(name string, ttl int, value string) string {
	var parts []string
	for len(value) > 255 {
		parts = append(parts, `"`+value[:255]+`"`)
		value = value[255:]
	}
	parts = append(parts, `"`+value+`"`)
	return fmt.Sprintf("%s. %d IN TXT %s", strings.TrimSuffix(name, "."), ttl, strings.Join(parts, " "))
}
