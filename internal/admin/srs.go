package admin

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"goqmail/internal/accounts"
	"goqmail/internal/atomicfile"
	"goqmail/internal/control"
	"goqmail/internal/srs"
)

// SRSUsage is `goqmail srs --help`.
const SRSUsage = `usage: goqmail srs COMMAND [-root ROOT]
  rotate [--keep N]   put a new random secret first in control/srssecrets (it makes
                      new SRS addresses; the others still accept bounces); --keep N
                      drops all but N older secrets. Makes the file when missing,
                      0640, owned by the send account, group goqmailnf.
  list                how many secrets there are and the SRS settings (never a secret)
SRS is on when control/srsdomain names a domain of this server (docs/outbound.md).
Rotation: rotate; after srsmaxage days, when no address made with the old secret is
valid any more, rotate --keep 1 (a new secret again) or edit the file to drop the old.
` + rootHelp

// SRSCmd runs `goqmail srs ...`; it says whether control/ changed.
func SRSCmd(root string, args []string, out io.Writer) (bool, error) {
	if len(args) == 0 {
		return false, usagef("which command?")
	}
	fs, err := parseFlags(args[1:], []string{"keep"}, nil)
	if err != nil {
		return false, err
	}
	if len(fs.args) > 0 {
		return false, usagef("%s takes no arguments", args[0])
	}
	dir := filepath.Join(root, "control")
	if _, err := os.Stat(dir); err != nil {
		return false, fmt.Errorf("%s is not a goqmail installation (it has no control/): give -root ROOT or set GOQMAIL_ROOT", root)
	}
	path := filepath.Join(dir, control.SRSSecrets.Name)
	switch args[0] {
	case "rotate":
		keep := -1
		if v, ok := fs.vals["keep"]; ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return false, usagef("--keep %q: give a number of old secrets to keep, 0 or more", v)
			}
			keep = n
		}
		return true, srsRotate(path, keep, out)
	case "list":
		if len(fs.vals) > 0 {
			return false, usagef("list takes no options")
		}
		return false, srsList(dir, path, out)
	}
	return false, usagef("unknown command %q", args[0])
}

func srsRotate(path string, keep int, out io.Writer) error {
	var old []string
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if old, err = srs.ParseSecrets(data); err != nil && !strings.Contains(err.Error(), "holds no secret") {
			return fmt.Errorf("%w: fix or remove the file first", err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return err
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	secrets := []string{base64.RawURLEncoding.EncodeToString(b)}
	if keep >= 0 && len(old) > keep {
		old = old[:keep]
	}
	secrets = append(secrets, old...)
	o := atomicfile.Options{Perm: 0o640, Group: -1}
	if os.Geteuid() == 0 {
		send, err := accounts.Lookup(accounts.Send)
		if err != nil {
			return err
		}
		gid, err := groupID(accounts.NoFiles)
		if err != nil {
			return err
		}
		o.UID, o.Group = send.UID, gid
	}
	if err := atomicfile.Write(path, []byte(strings.Join(secrets, "\n")+"\n"), o); err != nil {
		return err
	}
	fmt.Fprintf(out, "%s: a new secret first, %d older kept (they still accept bounces; drop them after srsmaxage days with rotate --keep N)\n", path, len(old))
	return nil
}

func srsList(dir, path string, out io.Writer) error {
	snap, _ := control.Inspect(dir)
	domain := snap.Line(control.SRSDomain)
	if domain == "" {
		fmt.Fprintf(out, "SRS is off: control/srsdomain is empty\n")
	} else {
		fmt.Fprintf(out, "SRS addresses: SRS0=...@%s, valid %d days\n", domain, snap.Number(control.SRSMaxAge))
	}
	secrets, err := srs.ReadSecrets(path)
	if err != nil {
		fmt.Fprintf(out, "secrets: %v\n", err)
		return nil
	}
	fmt.Fprintf(out, "secrets: %d (the first makes new addresses)\n", len(secrets))
	return nil
}
