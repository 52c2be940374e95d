package webmbox

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"goqmail/internal/atomicfile"
	"goqmail/internal/local"
	"goqmail/internal/vacation"
	"goqmail/internal/webrpc"
)

func init() {
	register(OpSettings, (*Session).settings)
	register(OpSetForward, (*Session).setForward)
	register(OpSetVacation, (*Session).setVacation)
	register(OpSetJunk, (*Session).setJunk)
}

// vacationDirName is the autoresponder's directory in the user's home
// (internal/vacation: config, state).
const vacationDirName = ".goqmail-vacation"

// maxForwards bounds the forwarding list.
const maxForwards = 20

// defaultVacDays is the period when the user gives none (a week, as
// vacation(1)).
const defaultVacDays = 7

// vacationProgram is the goqmail-vacation binary the .qmail line runs:
// the one installed beside this program (goqmail-local gives programs a
// fixed PATH that need not hold goqmail's directory).
var vacationProgram = func() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(exe), "goqmail-vacation"), nil
}

func (s *Session) vacationDir() string { return filepath.Join(s.Home, vacationDirName) }

// settings → tagged rows (ops.go).
func (s *Session) settings(req *webrpc.Request) *webrpc.Response {
	f, err := s.readDotQmail()
	if err != nil {
		return settingsError(err)
	}
	forwards, keep, vacOn := f.state()
	c, err := vacation.ReadConfig(s.vacationDir())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.Log.Printf("warning: webmail %s: %v", s.Login, err)
	}
	if c.Days == 0 {
		c.Days = defaultVacDays
	}
	junk := "folder"
	if local.JunkToInbox(s.Store.Root) {
		junk = "inbox"
	}
	q := s.quotaNow()
	return &webrpc.Response{Rows: [][]string{
		{"forward", strings.Join(forwards, ",")},
		{"keepcopy", boolRow(keep)},
		{"vacation", boolRow(vacOn && c.On)},
		{"vacsubject", c.Subject},
		{"vacbody", c.Body},
		{"vacdays", strconv.Itoa(c.Days)},
		{"vacfrom", unixOrEmpty(c.From)},
		{"vacuntil", unixOrEmpty(c.Until)},
		{"junk", junk},
		{"quota", strconv.FormatInt(q.used.Bytes, 10), strconv.FormatInt(q.limit.Bytes, 10),
			strconv.FormatInt(q.used.Messages, 10), strconv.FormatInt(q.limit.Messages, 10)},
	}}
}

// settings.forward [addresses, keepcopy]: addresses separated by commas,
// spaces or lines; "" stops forwarding.
func (s *Session) setForward(req *webrpc.Request) *webrpc.Response {
	keep, ok := parseBoolArg(req.Arg(1))
	if !ok {
		return webrpc.Errorf(webrpc.Invalid, "keepcopy must be 0 or 1")
	}
	fields := strings.FieldsFunc(req.Arg(0), func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
	var forwards []string
	seen := map[string]bool{}
	for _, a := range fields {
		list, err := parseAddrList(a)
		if err != nil || len(list) != 1 || list[0].Address != a {
			return webrpc.Errorf(webrpc.Invalid, "forwarding address %q is not an address like name@example.com", userLine(a))
		}
		if s.ownAddress(a) {
			return webrpc.Errorf(webrpc.Invalid, "%s is this mailbox's own address: forwarding to it would loop", a)
		}
		if k := strings.ToLower(a); !seen[k] {
			seen[k] = true
			forwards = append(forwards, a)
		}
	}
	if len(forwards) > maxForwards {
		return webrpc.Errorf(webrpc.Invalid, "at most %d forwarding addresses", maxForwards)
	}
	if len(forwards) == 0 && !keep {
		return webrpc.Errorf(webrpc.Invalid, "mail would go nowhere: give a forwarding address or keep a copy in this mailbox")
	}
	f, err := s.readDotQmail()
	if err != nil {
		return settingsError(err)
	}
	_, _, vacOn := f.state()
	vacLine, err := s.vacationLine(vacOn)
	if err != nil {
		return settingsError(err)
	}
	if err := s.writeDotQmail(f, forwards, keep, vacLine); err != nil {
		return settingsError(err)
	}
	s.Log.Printf("webmail %s: forwarding to %d addresses, keepcopy %s", s.Login, len(forwards), boolRow(keep))
	return &webrpc.Response{Text: "Forwarding saved."}
}

// settings.vacation [on, subject, body, days, from, until].
func (s *Session) setVacation(req *webrpc.Request) *webrpc.Response {
	on, ok := parseBoolArg(req.Arg(0))
	if !ok {
		return webrpc.Errorf(webrpc.Invalid, "on must be 0 or 1")
	}
	c := vacation.Config{On: on, Subject: userLine(req.Arg(1)), Body: strings.ReplaceAll(strings.ToValidUTF8(req.Arg(2), "\uFFFD"), "\r\n", "\n"),
		Days: defaultVacDays, Addresses: append([]string{s.Address}, s.Owns...), Socket: filepath.Join(s.Root, "run", "submit.sock")}
	if d := strings.TrimSpace(req.Arg(3)); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil {
			return webrpc.Errorf(webrpc.Invalid, "the period %q is not a number of days", userLine(d))
		}
		c.Days = n
	}
	for _, t := range []struct {
		name string
		arg  string
		out  *int64
	}{{"start date", req.Arg(4), &c.From}, {"end date", req.Arg(5), &c.Until}} {
		if v := strings.TrimSpace(t.arg); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return webrpc.Errorf(webrpc.Invalid, "the %s %q is not a time (Unix seconds)", t.name, userLine(v))
			}
			*t.out = n
		}
	}
	if on && c.Until > 0 && c.Until <= composeClock().Unix() {
		return webrpc.Errorf(webrpc.Invalid, "the end date is in the past: the reply would never be sent")
	}
	if on && strings.TrimSpace(c.Body) == "" {
		return webrpc.Errorf(webrpc.Invalid, "write the reply's text")
	}
	if err := c.Check(); err != nil {
		return webrpc.Errorf(webrpc.Invalid, "%v", err)
	}
	f, err := s.readDotQmail()
	if err != nil {
		return settingsError(err)
	}
	forwards, keep, _ := f.state()
	vacLine, err := s.vacationLine(on)
	if err != nil {
		return settingsError(err)
	}
	// The settings first, then the line that uses them.
	if err := vacation.WriteConfig(s.vacationDir(), c); err != nil {
		return settingsError(err)
	}
	if err := s.writeDotQmail(f, forwards, keep, vacLine); err != nil {
		return settingsError(err)
	}
	s.Log.Printf("webmail %s: vacation %s", s.Login, boolRow(on))
	return &webrpc.Response{Text: "Vacation reply saved."}
}

// vacationLine is the .qmail program line running goqmail-vacation, or
// "" when it is off.
func (s *Session) vacationLine(on bool) (string, error) {
	if !on {
		return "", nil
	}
	prog, err := vacationProgram()
	if err != nil {
		return "", err
	}
	return "|" + shellQuote(prog) + " " + shellQuote(s.vacationDir()), nil
}

// settings.junk ["folder"|"inbox"]: written to the Maildir's
// junkchoice file, which goqmail-local reads (internal/local).
func (s *Session) setJunk(req *webrpc.Request) *webrpc.Response {
	v := req.Arg(0)
	if v != "folder" && v != "inbox" {
		return webrpc.Errorf(webrpc.Invalid, "junk must be \"folder\" or \"inbox\"")
	}
	if err := atomicfile.WriteFile(filepath.Join(s.Store.Root, local.JunkChoiceFile), []byte(v+"\n"), 0o600); err != nil {
		return settingsError(err)
	}
	return &webrpc.Response{Text: "Junk setting saved."}
}

func (s *Session) ownAddress(a string) bool {
	for _, own := range append([]string{s.Address}, s.Owns...) {
		if strings.EqualFold(own, a) {
			return true
		}
	}
	return false
}

func settingsError(err error) *webrpc.Response {
	var c errConflict
	if errors.As(err, &c) {
		return webrpc.Errorf(webrpc.Conflict, "%s", c.text)
	}
	return webrpc.Errorf(webrpc.Failed, "the settings could not be saved: %v; try again later", err)
}

func boolRow(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func parseBoolArg(s string) (bool, bool) {
	switch s {
	case "1":
		return true, true
	case "0":
		return false, true
	}
	return false, false
}

func unixOrEmpty(t int64) string {
	if t <= 0 {
		return ""
	}
	return strconv.FormatInt(t, 10)
}
