package admin

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"goqmail/internal/accounts"
	"goqmail/internal/atomicfile"
	"goqmail/internal/control"
	"goqmail/internal/dkimkey"
)

// DKIMUsage is `goqmail dkim --help`.
const DKIMUsage = `usage: goqmail dkim COMMAND [ARGS] [-root ROOT]
  keygen DOMAIN [--selector S] [--algorithm rsa|ed25519]
                      make a key (RSA 2048 by default) in ROOT/dkim/DOMAIN/S.key,
                      owned by goqmailk, 0600, and print its DNS record; the
                      domain's first key signs at once (control/dkimkeys)
  show DOMAIN [--selector S]   print the DNS record of the key that signs (or of S)
  list                print every domain's keys, their algorithm and which one signs
  use DOMAIN S        sign DOMAIN's mail with the key S from now on
  retire DOMAIN S     delete the key S, which no longer signs
Rotation, with two selectors: keygen DOMAIN --selector NEW; publish its record;
wait a day for DNS caches; use DOMAIN NEW; a week later retire DOMAIN OLD and
delete OLD's record (docs/outbound.md). The default selector is gqYYYYMM.
Keys are read by root and goqmail-dkimsign only: run these as root.
` + rootHelp

// DKIMCmd runs `goqmail dkim ...` on ROOT and says whether control/dkimkeys
// changed (the caller then tells a running goqmaild).
func DKIMCmd(root string, args []string, out io.Writer) (bool, error) {
	if len(args) == 0 {
		return false, usagef("which command?")
	}
	fs, err := parseFlags(args[1:], []string{"selector", "algorithm"}, nil)
	if err != nil {
		return false, err
	}
	if _, err := os.Stat(filepath.Join(root, "control")); err != nil {
		return false, fmt.Errorf("%s is not a goqmail installation (it has no control/): give -root ROOT or set GOQMAIL_ROOT", root)
	}
	nargs := func(n int, what string) error {
		if len(fs.args) != n {
			return usagef("%s takes %s", args[0], what)
		}
		if n > 0 {
			if err := control.CheckDomain(fs.args[0]); err != nil {
				return usagef("%q is not a domain name: %v", fs.args[0], err)
			}
		}
		return nil
	}
	allowFlags := func(names ...string) error {
		for n := range fs.vals {
			if !contains(names, n) {
				return usagef("%s takes no --%s", args[0], n)
			}
		}
		return nil
	}
	switch args[0] {
	case "keygen":
		if err := nargs(1, "one domain"); err != nil {
			return false, err
		}
		return dkimKeygen(root, strings.ToLower(fs.args[0]), fs.vals["selector"], fs.vals["algorithm"], out)
	case "show":
		if err := nargs(1, "one domain"); err != nil {
			return false, err
		}
		if err := allowFlags("selector"); err != nil {
			return false, err
		}
		return false, dkimShow(root, strings.ToLower(fs.args[0]), fs.vals["selector"], out)
	case "list":
		if err := nargs(0, "no arguments"); err != nil {
			return false, err
		}
		if err := allowFlags(); err != nil {
			return false, err
		}
		return false, dkimList(root, out)
	case "use", "retire":
		if len(fs.args) != 2 {
			return false, usagef("%s takes a domain and a selector", args[0])
		}
		if err := nargs(2, "a domain and a selector"); err != nil {
			return false, err
		}
		if err := allowFlags(); err != nil {
			return false, err
		}
		domain, sel := strings.ToLower(fs.args[0]), fs.args[1]
		if err := control.CheckSelector(sel); err != nil {
			return false, usagef("%v", err)
		}
		if args[0] == "use" {
			return dkimUse(root, domain, sel, out)
		}
		return false, dkimRetire(root, domain, sel, out)
	}
	return false, usagef("unknown command %q", args[0])
}

// activeKeys reads control/dkimkeys as it is on disk, refusing a file that
// does not parse: the commands rewrite it and must not lose a line.
func activeKeys(root string) (map[string]string, []string, error) {
	snap, probs := control.Inspect(filepath.Join(root, "control"))
	for _, p := range probs {
		if p.File == "control/"+control.DKIMKeys.Name {
			return nil, nil, fmt.Errorf("%s: fix it first", p)
		}
	}
	lines := snap.List(control.DKIMKeys)
	return dkimkey.Active(lines), lines, nil
}

// setActive writes control/dkimkeys with domain signing with sel.
func setActive(root, domain, sel string) error {
	_, lines, err := activeKeys(root)
	if err != nil {
		return err
	}
	var out []string
	for _, l := range lines {
		if d, _, _ := strings.Cut(l, ":"); !strings.EqualFold(d, domain) {
			out = append(out, l)
		}
	}
	out = append(out, domain+":"+sel)
	return atomicfile.WriteFile(filepath.Join(root, "control", control.DKIMKeys.Name), []byte(strings.Join(out, "\n")+"\n"), 0o644)
}

// signerIDs is who owns the keys: goqmailk as root, else the caller.
func signerIDs() (accounts.IDs, error) {
	if os.Geteuid() != 0 {
		return accounts.Current(), nil
	}
	return accounts.Lookup(accounts.DKIM)
}

func dkimKeygen(root, domain, sel, alg string, out io.Writer) (bool, error) {
	if alg == "" {
		alg = dkimkey.RSA
	}
	if alg != dkimkey.RSA && alg != dkimkey.Ed25519 {
		return false, usagef("--algorithm %q: use rsa or ed25519", alg)
	}
	if sel == "" {
		sel = "gq" + time.Now().UTC().Format("200601")
	}
	if err := control.CheckSelector(sel); err != nil {
		return false, usagef("--selector: %v", err)
	}
	active, _, err := activeKeys(root)
	if err != nil {
		return false, err
	}
	ids, err := signerIDs()
	if err != nil {
		return false, err
	}
	k, err := dkimkey.Generate(alg)
	if err != nil {
		return false, err
	}
	path, err := dkimkey.Write(root, domain, sel, k, ids.UID, ids.GID)
	if err != nil {
		if errors.Is(err, os.ErrExist) || strings.Contains(err.Error(), "choose another selector") {
			return false, usagef("%v", err)
		}
		return false, err
	}
	rec, err := dkimkey.Record(k.Public())
	if err != nil {
		return false, err
	}
	fmt.Fprintf(out, "wrote %s (%s)\n", path, alg)
	fmt.Fprintf(out, "publish this record in the DNS zone of %s:\n%s\n", domain, dkimkey.ZoneTXT(dkimkey.RecordName(domain, sel), 3600, rec))
	if cur, ok := active[domain]; ok {
		fmt.Fprintf(out, "%s still signs with %s; once the record above is published: goqmail dkim use %s %s\n", domain, cur, domain, sel)
		return false, nil
	}
	if err := setActive(root, domain, sel); err != nil {
		return false, err
	}
	fmt.Fprintf(out, "%s signs with %s from now on (control/dkimkeys); until the record is published, receivers find no key and treat the mail as unsigned\n", domain, sel)
	return true, nil
}

func dkimShow(root, domain, sel string, out io.Writer) error {
	if sel == "" {
		active, _, err := activeKeys(root)
		if err != nil {
			return err
		}
		if sel = active[domain]; sel == "" {
			return &kindError{errNoKey, fmt.Sprintf("%s has no signing key in control/dkimkeys (goqmail dkim keygen %s)", domain, domain)}
		}
	}
	k, err := dkimkey.Load(dkimkey.Path(root, domain, sel))
	if errors.Is(err, os.ErrNotExist) {
		return &kindError{errNoKey, fmt.Sprintf("%s has no key %s (%s)", domain, sel, dkimkey.Path(root, domain, sel))}
	}
	if err != nil {
		return err
	}
	rec, err := dkimkey.Record(k.Public())
	if err != nil {
		return err
	}
	fmt.Fprintln(out, dkimkey.ZoneTXT(dkimkey.RecordName(domain, sel), 3600, rec))
	return nil
}

func dkimList(root string, out io.Writer) error {
	active, _, err := activeKeys(root)
	if err != nil {
		return err
	}
	domains, err := dkimkey.Domains(root)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, d := range domains {
		sels, err := dkimkey.Selectors(root, d)
		if err != nil {
			return err
		}
		for _, sel := range sels {
			alg := "unreadable"
			if k, err := dkimkey.Load(dkimkey.Path(root, d, sel)); err == nil {
				alg = dkimkey.Algorithm(k.Public())
			} else {
				alg = "unreadable: " + err.Error()
			}
			state := "not signing"
			if active[d] == sel {
				state, seen[d] = "signs", true
			}
			fmt.Fprintf(out, "%s %s %s %s\n", d, sel, alg, state)
		}
	}
	for d, sel := range active {
		if !seen[d] {
			fmt.Fprintf(out, "%s %s missing: control/dkimkeys names a key that does not exist (goqmail dkim keygen %s --selector %s)\n", d, sel, d, sel)
		}
	}
	if len(domains) == 0 && len(active) == 0 {
		fmt.Fprintf(out, "no DKIM keys (goqmail dkim keygen DOMAIN makes one)\n")
	}
	return nil
}

func dkimUse(root, domain, sel string, out io.Writer) (bool, error) {
	if _, err := dkimkey.Load(dkimkey.Path(root, domain, sel)); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return false, &kindError{errNoKey, fmt.Sprintf("%s has no key %s: make it first (goqmail dkim keygen %s --selector %s)", domain, sel, domain, sel)}
		}
		return false, err
	}
	if err := setActive(root, domain, sel); err != nil {
		return false, err
	}
	fmt.Fprintf(out, "%s signs with %s from now on\n", domain, sel)
	return true, nil
}

func dkimRetire(root, domain, sel string, out io.Writer) error {
	active, _, err := activeKeys(root)
	if err != nil {
		return err
	}
	if active[domain] == sel {
		return usagef("%s still signs with %s: switch first (goqmail dkim use %s NEW)", domain, sel, domain)
	}
	path := dkimkey.Path(root, domain, sel)
	if err := os.Remove(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return &kindError{errNoKey, fmt.Sprintf("%s has no key %s", domain, sel)}
		}
		return err
	}
	fmt.Fprintf(out, "deleted %s; delete its record %s from DNS too (mail signed with it in the last days fails verification from then on)\n", path, dkimkey.RecordName(domain, sel))
	return nil
}

// errNoKey is a key or selector that does not exist: the caller's mistake.
var errNoKey = errors.New("no such DKIM key")
