package authd

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"goqmail/internal/pwhash"
)

// ShadowAnswer is the one byte the shadow helper answers.
type ShadowAnswer byte

const (
	ShadowOK          ShadowAnswer = 'y'
	ShadowBad         ShadowAnswer = 'n' // unknown, locked, expired or wrong: one answer
	ShadowUnsupported ShadowAnswer = 'u' // the stored hash is one we cannot verify (yescrypt)
	ShadowTemp        ShadowAnswer = 't' // the shadow file could not be read
)

// ShadowChecker asks the shadow helper about user/password. An error means
// the helper could not be run or answered nonsense (temporary).
type ShadowChecker func(ctx context.Context, user, password string) (ShadowAnswer, error)

// maxShadowRequest bounds "user\0password\0" on the helper's stdin.
const maxShadowRequest = 8192

// ExecShadow runs `program args...` (goqmail-auth -shadow) once per check,
// with the request on its stdin and an empty environment.
func ExecShadow(program string, args ...string) ShadowChecker {
	return func(ctx context.Context, user, password string) (ShadowAnswer, error) {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, program, args...)
		cmd.Env = []string{}
		cmd.Dir = "/"
		cmd.Stdin = strings.NewReader(user + "\x00" + password + "\x00")
		var out bytes.Buffer
		cmd.Stdout = &out
		if err := cmd.Run(); err != nil {
			return ShadowTemp, fmt.Errorf("shadow helper: %w", err)
		}
		if out.Len() != 1 {
			return ShadowTemp, fmt.Errorf("shadow helper answered %d bytes", out.Len())
		}
		switch a := ShadowAnswer(out.Bytes()[0]); a {
		case ShadowOK, ShadowBad, ShadowUnsupported, ShadowTemp:
			return a, nil
		default:
			return ShadowTemp, fmt.Errorf("shadow helper answered %q", a)
		}
	}
}

// dummyCrypt is verified against when the user has no usable entry, so
// that an unknown or locked account costs the same as a wrong password.
const dummyCrypt = "$6$saltsalt$eR6TqeQkZKwmcFS.tXxNFwMlv4HL4Lzw630YdwsfrAGW3RIt1zwQxEdDNxeUx98ARuSlYWR6/tLMMz2zmQKZw0"

// ShadowMain is the whole of `goqmail-auth -shadow`: read one
// "user\0password\0" request from in, look the user up in the shadow file
// and write one answer byte to out. It reads that file and nothing else;
// logf gets one line about unsupported hashes (never the password).
func ShadowMain(in io.Reader, out io.Writer, shadowPath string, today int64, logf func(string, ...any)) {
	user, password, ok := parseShadowRequest(in)
	if !ok {
		out.Write([]byte{byte(ShadowBad)})
		return
	}
	data, err := readLimited(shadowPath, 64<<20)
	if err != nil {
		logf("warning: %v", err)
		out.Write([]byte{byte(ShadowTemp)})
		return
	}
	a, why := CheckShadow(data, user, password, today)
	if a == ShadowUnsupported {
		logf("warning: system user %s: %s", user, why)
	}
	out.Write([]byte{byte(a)})
}

func parseShadowRequest(in io.Reader) (user, password string, ok bool) {
	b, err := io.ReadAll(io.LimitReader(in, maxShadowRequest+1))
	if err != nil || len(b) > maxShadowRequest {
		return "", "", false
	}
	f := bytes.Split(b, []byte{0})
	if len(f) != 3 || len(f[2]) != 0 {
		return "", "", false
	}
	return string(f[0]), string(f[1]), true
}

// CheckShadow verifies password for user against shadow file data (shadow(5):
// name:hash:lastchange:min:max:warn:inactive:expire:). Locked accounts
// ("!" or "*" hashes, empty hashes) and accounts past their expiry day
// never log in. today is days since the epoch. The second result says why
// a hash is unsupported.
func CheckShadow(data []byte, user, password string, today int64) (ShadowAnswer, string) {
	hash, expire, found := findShadow(data, user)
	usable := found && hash != "" && hash[0] != '!' && hash[0] != '*' && (expire < 0 || today < expire)
	if !usable {
		pwhash.Verify("{SHA512-CRYPT}"+dummyCrypt, password)
		return ShadowBad, ""
	}
	if strings.HasPrefix(hash, "$y$") || strings.HasPrefix(hash, "$gy$") {
		pwhash.Verify("{SHA512-CRYPT}"+dummyCrypt, password)
		return ShadowUnsupported, "yescrypt ($y$) hashes are not supported: set the password with SHA-512 crypt (chpasswd -c SHA512)"
	}
	stored, err := pwhash.FromCrypt(hash)
	if err != nil {
		pwhash.Verify("{SHA512-CRYPT}"+dummyCrypt, password)
		return ShadowUnsupported, fmt.Sprintf("shadow hash unusable: %v", err)
	}
	okpw, err := pwhash.Verify(stored, password)
	if err != nil {
		return ShadowUnsupported, fmt.Sprintf("shadow hash unusable: %v", err)
	}
	if !okpw {
		return ShadowBad, ""
	}
	return ShadowOK, ""
}

// findShadow returns user's hash and expiry day (-1 = none).
func findShadow(data []byte, user string) (hash string, expire int64, found bool) {
	if user == "" || strings.ContainsAny(user, ":\n\x00") {
		return "", -1, false
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 2 || f[0] != user {
			continue
		}
		expire = -1
		if len(f) >= 8 && f[7] != "" {
			n, err := strconv.ParseInt(f[7], 10, 64)
			if err != nil {
				return "", -1, false // unreadable expiry: treat as locked
			}
			expire = n
		}
		return f[1], expire, true
	}
	return "", -1, false
}

func readLimited(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("shadow: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, max)
	}
	return b, nil
}
