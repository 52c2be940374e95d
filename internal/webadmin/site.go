package webadmin

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"goqmail/internal/admin"
	"goqmail/internal/logdir"
	"goqmail/internal/proto"
	"goqmail/internal/relaygrant"
	"goqmail/internal/status"
	"goqmail/internal/webrpc"
)

// The queue, the grants, DKIM and DNS advice, the log and the health
// view: the functions `goqmail queue|relay|dkim|dns|status` call.

func init() {
	register(OpQueue, siteOnly, (*Session).queue)
	register(OpQueueShow, siteOnly, (*Session).queueShow)
	for _, v := range []struct{ op, verb string }{
		{OpQueueRetry, proto.AdminRetry}, {OpQueueHold, proto.AdminHold},
		{OpQueueRelease, proto.AdminRelease}, {OpQueueDelete, proto.AdminDelete},
	} {
		register(v.op, siteOnly, func(s *Session, req *webrpc.Request) *webrpc.Response { return s.queueVerb(req, v.verb) })
	}
	register(OpGrants, siteOnly, (*Session).grants)
	register(OpGrantDelete, siteOnly, (*Session).grantDelete)
	register(OpDKIM, domainWide, (*Session).dkim)
	register(OpDNS, domainWide, (*Session).dns)
	register(OpLog, siteOnly, (*Session).log)
	register(OpHealth, siteOnly, (*Session).health)
}

func (s *Session) queue(req *webrpc.Request) *webrpc.Response {
	if r := nargs(req, 0, 0); r != nil {
		return r
	}
	msgs, err := admin.ReadQueue(s.Root)
	if err != nil {
		return failure(err)
	}
	now := time.Now().Unix()
	resp := &webrpc.Response{}
	for _, m := range msgs {
		var rcpts []string
		var next int64
		for _, r := range m.Rcpts {
			rcpts = append(rcpts, r.Addr)
			if t := r.RetryAt.Unix(); r.State == proto.StatePending && t > 0 && (next == 0 || t < next) {
				next = t
			}
		}
		state := "queued"
		if m.Held {
			state = "held"
		}
		resp.Rows = append(resp.Rows, []string{m.ID, m.Env.Sender, strings.Join(rcpts, ","),
			strconv.FormatInt(max(now-m.Env.Birth, 0), 10), strconv.FormatInt(m.Env.Size, 10), state, strconv.FormatInt(next, 10)})
	}
	return resp
}

// maxShow bounds queue.show's text: the envelope and the header block.
const maxShow = webrpc.MaxCell

func (s *Session) queueShow(req *webrpc.Request) *webrpc.Response {
	if r := nargs(req, 1, 1); r != nil {
		return r
	}
	var b bytes.Buffer
	if err := admin.ShowMessage(&limitWriter{w: &b, n: maxShow}, s.Root, req.Arg(0)); err != nil && !errors.Is(err, errLimit) {
		if strings.Contains(err.Error(), "no message") {
			return webrpc.Errorf(webrpc.NotFound, "%v", err)
		}
		if strings.Contains(err.Error(), "not a queue id") {
			return webrpc.Errorf(webrpc.Invalid, "%v", err)
		}
		return failure(err)
	}
	// The envelope, a blank line, then the content: keep its header block.
	text := b.String()
	if env, content, ok := strings.Cut(text, "\n\n"); ok {
		head, _, _ := strings.Cut(strings.ReplaceAll(content, "\r\n", "\n"), "\n\n")
		text = env + "\n\n" + head + "\n"
	}
	return &webrpc.Response{Blob: []byte(text)}
}

var errLimit = errors.New("enough")

// limitWriter keeps the first n bytes, then fails (ShowMessage stops).
type limitWriter struct {
	w io.Writer
	n int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if len(p) > l.n {
		l.w.Write(p[:l.n])
		l.n = 0
		return 0, errLimit
	}
	l.n -= len(p)
	return l.w.Write(p)
}

// queueVerb sends one command to goqmail-send. Deleting needs the choice
// `goqmail queue delete` asks for: "bounce" (the sender is told) or
// "silent".
func (s *Session) queueVerb(req *webrpc.Request, verb string) *webrpc.Response {
	want := 1
	if verb == proto.AdminDelete {
		want = 2
	}
	if r := nargs(req, want, want); r != nil {
		return r
	}
	id := req.Arg(0)
	if err := proto.CheckID(id); err != nil || len(id) != 16 {
		return webrpc.Errorf(webrpc.Invalid, "%q is not a queue id (16 hex digits)", id)
	}
	bounce := false
	if verb == proto.AdminDelete {
		switch req.Arg(1) {
		case "bounce":
			bounce = true
		case "silent":
		default:
			return webrpc.Errorf(webrpc.Invalid, "queue.delete needs bounce (the sender is told) or silent (nobody is told), not %q", req.Arg(1))
		}
	}
	text, err := s.Queue(s.Root, proto.Admin{Verb: verb, ID: id, Bounce: bounce})
	if err != nil {
		return webrpc.Errorf(webrpc.Failed, "%v", err)
	}
	return &webrpc.Response{Text: text}
}

func (s *Session) grantStore() *relaygrant.Store {
	return relaygrant.Open(filepath.Join(s.Root, "relay", "grants"))
}

func (s *Session) grants(req *webrpc.Request) *webrpc.Response {
	if r := nargs(req, 0, 0); r != nil {
		return r
	}
	gs, err := s.grantStore().List()
	if err != nil {
		return failure(err)
	}
	resp := &webrpc.Response{}
	for _, g := range gs {
		resp.Rows = append(resp.Rows, []string{g.IP.String(), strconv.FormatInt(g.Expires.Unix(), 10)})
	}
	return resp
}

func (s *Session) grantDelete(req *webrpc.Request) *webrpc.Response {
	if r := nargs(req, 1, 1); r != nil {
		return r
	}
	ip, err := netip.ParseAddr(req.Arg(0))
	if err != nil {
		return webrpc.Errorf(webrpc.Invalid, "%q is not an IP address", req.Arg(0))
	}
	had, err := s.grantStore().Revoke(ip)
	if err != nil {
		return failure(err)
	}
	if !had {
		return webrpc.Errorf(webrpc.NotFound, "no grant for %s", ip)
	}
	return &webrpc.Response{Text: "revoked the grant of " + ip.String()}
}

func (s *Session) dkim(req *webrpc.Request) *webrpc.Response {
	if r := nargs(req, 1, 1); r != nil {
		return r
	}
	name, refused := s.checkDomain(req.Arg(0))
	if refused != nil {
		return refused
	}
	keys, err := admin.DKIMRecords(s.Root, name)
	if err != nil {
		return failure(err)
	}
	resp := &webrpc.Response{}
	for _, k := range keys {
		resp.Rows = append(resp.Rows, []string{k.Selector, k.Name, k.Record, k.Status})
	}
	return resp
}

func (s *Session) dns(req *webrpc.Request) *webrpc.Response {
	if r := nargs(req, 1, 1); r != nil {
		return r
	}
	name, refused := s.checkDomain(req.Arg(0))
	if refused != nil {
		return refused
	}
	recs, err := admin.DNSRecords(s.Root, name)
	if err != nil {
		return failure(err)
	}
	resp := &webrpc.Response{}
	for _, r := range recs {
		resp.Rows = append(resp.Rows, []string{r.Name, r.Type, r.Value, r.What})
	}
	return resp
}

// Bounds of the log op.
const (
	defaultLogLines = 200
	maxLogLines     = 2000
	maxLogRead      = 8 << 20 // bytes read from the end of the log, at most
)

// log answers the newest lines of ROOT/log (control/logdest files),
// oldest first.
func (s *Session) log(req *webrpc.Request) *webrpc.Response {
	if r := nargs(req, 0, 1); r != nil {
		return r
	}
	n := defaultLogLines
	if a := req.Arg(0); a != "" {
		v, err := strconv.Atoi(a)
		if err != nil || v < 1 || v > maxLogLines {
			return webrpc.Errorf(webrpc.Invalid, "lines %q: give a number from 1 to %d", a, maxLogLines)
		}
		n = v
	}
	files, err := logdir.Files(filepath.Join(s.Root, "log"))
	if errors.Is(err, os.ErrNotExist) {
		return webrpc.Errorf(webrpc.NotFound, "%s does not exist: the log goes elsewhere (control/logdest)", filepath.Join(s.Root, "log"))
	}
	if err != nil {
		return failure(err)
	}
	var lines []string
	budget := int64(maxLogRead)
	for i := len(files) - 1; i >= 0 && len(lines) < n && budget > 0; i-- {
		got, used, err := tail(files[i], n-len(lines), budget)
		if err != nil {
			return failure(err)
		}
		budget -= used
		lines = append(got, lines...)
	}
	resp := &webrpc.Response{}
	for _, l := range lines {
		resp.Rows = append(resp.Rows, []string{l})
	}
	return resp
}

// tail reads at most budget bytes from the end of path and returns its
// last n complete lines and the bytes read.
func tail(path string, n int, budget int64) ([]string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	off := max(st.Size()-budget, 0)
	b := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(b, off); err != nil && err != io.EOF {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	all := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if off > 0 && len(all) > 0 {
		all = all[1:] // cut in the middle of a line
	}
	if len(all) == 1 && all[0] == "" {
		all = nil
	}
	if len(all) > n {
		all = all[len(all)-n:]
	}
	return all, int64(len(b)), nil
}

// health is `goqmail status`'s report as rows: ["line", text] and
// ["problem", text], then ["queue", messages, oldest age seconds].
func (s *Session) health(req *webrpc.Request) *webrpc.Response {
	if r := nargs(req, 0, 0); r != nil {
		return r
	}
	o := status.Defaults
	o.Root = s.Root
	rep := status.Gather(o)
	resp := &webrpc.Response{}
	for _, l := range rep.Lines {
		resp.Rows = append(resp.Rows, []string{"line", l})
	}
	for _, p := range rep.Problems {
		resp.Rows = append(resp.Rows, []string{"problem", p})
	}
	msgs, err := admin.ReadQueue(s.Root)
	if err == nil {
		oldest := int64(0)
		now := time.Now().Unix()
		for _, m := range msgs {
			oldest = max(oldest, now-m.Env.Birth)
		}
		resp.Rows = append(resp.Rows, []string{"queue", strconv.Itoa(len(msgs)), strconv.FormatInt(oldest, 10)})
	} else {
		resp.Rows = append(resp.Rows, []string{"problem", "queue: " + err.Error()})
	}
	return resp
}
