package admin

import (
	"errors"
	"fmt"
	"os"

	"goqmail/internal/dkimkey"
	"goqmail/internal/dnsadvice"
)

// What the web's admin session (internal/webadmin) shows of DKIM and DNS,
// from the same code as `goqmail dkim list|show` and `goqmail dns records`.

// DKIMKey is one key of a domain as `goqmail dkim list|show` describe it.
type DKIMKey struct {
	Selector string
	Name     string // the DNS name of its record
	Record   string // the TXT record's text
	Status   string // "signs", "not signing", "unreadable: ...", or "missing: ..."
}

// DKIMRecords lists domain's keys with their DNS records.
func DKIMRecords(root, domain string) ([]DKIMKey, error) {
	active, _, err := activeKeys(root)
	if err != nil {
		return nil, err
	}
	sels, err := dkimkey.Selectors(root, domain)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("DKIM keys of %s: %w", domain, err)
	}
	var out []DKIMKey
	seen := false
	for _, sel := range sels {
		k := DKIMKey{Selector: sel, Name: dkimkey.RecordName(domain, sel), Status: "not signing"}
		if active[domain] == sel {
			k.Status, seen = "signs", true
		}
		key, err := dkimkey.Load(dkimkey.Path(root, domain, sel))
		if err == nil {
			k.Record, err = dkimkey.Record(key.Public())
		}
		if err != nil {
			k.Status = "unreadable: " + err.Error()
		}
		out = append(out, k)
	}
	if sel := active[domain]; sel != "" && !seen {
		out = append(out, DKIMKey{Selector: sel, Name: dkimkey.RecordName(domain, sel),
			Status: fmt.Sprintf("missing: control/dkimkeys names a key that does not exist (goqmail dkim keygen %s --selector %s)", domain, sel)})
	}
	return out, nil
}

// DNSRecords is what `goqmail dns records DOMAIN` advises, with the
// defaults of its options (the machine's public addresses, control/me).
func DNSRecords(root, domain string) ([]dnsadvice.Record, error) {
	in, err := dnsInput(root, domain, &flagSet{vals: map[string]string{}})
	if err != nil {
		return nil, err
	}
	return dnsadvice.Records(in), nil
}
