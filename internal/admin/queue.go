package admin

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"goqmail/internal/control"
	"goqmail/internal/ipc"
	"goqmail/internal/proto"
	"goqmail/internal/queue"
	"goqmail/internal/rewrite"
	"goqmail/internal/vdir"
)

// QueuedMsg is one message as `goqmail queue list` shows it, read from the
// queue files directly (like qmail-qread), so it works with the server down.
type QueuedMsg struct {
	ID    string
	Env   *queue.Envelope
	Held  bool
	Rcpts []QueuedRcpt
}

// QueuedRcpt is one recipient with its route and state.
type QueuedRcpt struct {
	Addr    string
	Channel rewrite.Channel
	To      string // as delivered (virtualdomains applied)
	State   byte
	RetryAt time.Time
	Text    string
}

// ReadQueue reads every message in ROOT/queue, oldest first.
func ReadQueue(root string) ([]QueuedMsg, error) {
	l := queue.Layout{Root: filepath.Join(root, "queue")}
	ents, err := os.ReadDir(l.MsgDir())
	if err != nil {
		return nil, fmt.Errorf("read the queue: %w%s", err, fileHint(err, root, l.Root))
	}
	snap, err := control.Load(filepath.Join(root, "control"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(root, "control"), err)
	}
	rules := rewrite.New(snap).WithDirectory(vdir.OpenFiles(filepath.Join(root, "vdir"), filepath.Join(root, "vmail"), -1, -1))
	var out []QueuedMsg
	for _, e := range ents {
		id, suf, ok := queue.SplitName(e.Name())
		if !ok || suf != "" {
			continue
		}
		m, err := readQueued(l, id, rules)
		if errors.Is(err, os.ErrNotExist) {
			continue // finished while we looked
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", l.Msg(id), err)
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func readQueued(l queue.Layout, id string, rules *rewrite.Rules) (QueuedMsg, error) {
	env, err := queue.ReadEnvelope(l.Msg(id))
	if err != nil {
		return QueuedMsg{}, err
	}
	m := QueuedMsg{ID: id, Env: env, Rcpts: make([]QueuedRcpt, len(env.Rcpts))}
	for i, a := range env.Rcpts {
		r := rules.Route(a)
		m.Rcpts[i] = QueuedRcpt{Addr: a, Channel: r.Channel, To: r.Addr}
	}
	sb, err := os.ReadFile(l.State(id))
	if err != nil && !os.IsNotExist(err) {
		return m, err
	}
	recs, _ := queue.ParseState(sb)
	for _, r := range recs {
		if r.Index == proto.HoldIndex {
			m.Held = r.State == 1
			continue
		}
		if r.Index < len(m.Rcpts) {
			q := &m.Rcpts[r.Index]
			q.State, q.Text = r.State, r.Text
			q.RetryAt = time.Unix(r.RetryAt, 0)
		}
	}
	return m, nil
}

var stateNames = map[byte]string{
	proto.StatePending: "pending", proto.StateDone: "done",
	proto.StateFailed: "failed", proto.StateBounced: "bounced",
}

// WriteList prints the queue the way qmail-qread does (date, id, size,
// sender; then each recipient with its channel), with each recipient's
// state, next try and last report added.
func WriteList(w io.Writer, msgs []QueuedMsg) {
	for _, m := range msgs {
		held := ""
		if m.Held {
			held = "  HELD"
		}
		fmt.Fprintf(w, "%s  #%s  %d  <%s>%s\n", time.Unix(m.Env.Birth, 0).UTC().Format("2 Jan 2006 15:04:05 GMT"),
			m.ID, m.Env.Size, m.Env.Sender, held)
		for _, r := range m.Rcpts {
			line := fmt.Sprintf("\t%s\t%s\t%s", stateNames[r.State], r.Channel, r.Addr)
			if r.To != r.Addr {
				line += " (as " + r.To + ")"
			}
			if r.State == proto.StatePending && r.RetryAt.Unix() > 0 {
				line += "  next try " + r.RetryAt.UTC().Format("2 Jan 15:04:05")
			}
			if r.Text != "" {
				line += "  last: " + r.Text
			}
			fmt.Fprintln(w, line)
		}
	}
}

// WriteStat prints qmail-qstat's counts and goqmail's per-state counts.
func WriteStat(w io.Writer, msgs []QueuedMsg) {
	counts := map[byte]int{}
	held := 0
	for _, m := range msgs {
		if m.Held {
			held++
		}
		for _, r := range m.Rcpts {
			counts[r.State]++
		}
	}
	fmt.Fprintf(w, "messages in queue: %d\n", len(msgs))
	fmt.Fprintf(w, "messages in queue but not yet preprocessed: 0\n")
	fmt.Fprintf(w, "messages held: %d\n", held)
	fmt.Fprintf(w, "recipients: %d pending, %d done, %d failed (bounce owed), %d bounced\n",
		counts[proto.StatePending], counts[proto.StateDone], counts[proto.StateFailed], counts[proto.StateBounced])
}

// ShowMessage prints one message: its envelope and states, then its content.
func ShowMessage(w io.Writer, root, id string) error {
	if err := proto.CheckID(id); err != nil || !validQueueID(id) {
		return fmt.Errorf("%q is not a queue id (16 hex digits, as `goqmail queue list` prints after #)", id)
	}
	snap, err := control.Load(filepath.Join(root, "control"))
	if err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(root, "control"), err)
	}
	l := queue.Layout{Root: filepath.Join(root, "queue")}
	m, err := readQueued(l, id, rewrite.New(snap).WithDirectory(vdir.OpenFiles(filepath.Join(root, "vdir"), filepath.Join(root, "vmail"), -1, -1)))
	if errors.Is(err, os.ErrNotExist) {
		if _, derr := os.Stat(l.MsgDir()); derr != nil {
			return fmt.Errorf("read the queue: %w%s", derr, fileHint(derr, root, l.Root))
		}
		return fmt.Errorf("no message %s in the queue %s", id, l.Root)
	}
	if err != nil {
		return fmt.Errorf("%s: %w%s", l.Msg(id), err, fileHint(err, root, l.Root))
	}
	WriteList(w, []QueuedMsg{m})
	fmt.Fprintf(w, "submitted by uid %d pid %d\n\n", m.Env.UID, m.Env.PID)
	f, err := os.Open(l.Msg(id))
	if err != nil {
		return err // an *os.PathError: it names the file
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	c, err := queue.ReadContent(f, st.Size())
	if err != nil {
		return fmt.Errorf("%s: %w", l.Msg(id), err)
	}
	if _, err := io.Copy(w, c.Reader(f)); err != nil {
		return fmt.Errorf("%s: %w", l.Msg(id), err)
	}
	return nil
}

func validQueueID(id string) bool {
	if len(id) != 16 {
		return false
	}
	return strings.Trim(id, "0123456789abcdef") == ""
}

// QueueCommand sends one command to the running send process over
// ROOT/run/sendctl.sock and returns its answer.
func QueueCommand(root string, cmd proto.Admin) (string, error) {
	if cmd.ID != "" && !validQueueID(cmd.ID) {
		return "", fmt.Errorf("%q is not a queue id (16 hex digits, as `goqmail queue list` prints after #)", cmd.ID)
	}
	path := filepath.Join(root, "run", "sendctl.sock")
	c, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		return "", fmt.Errorf("cannot reach goqmail-send at %s: %w%s", path, err, dialHint(err, root))
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write(cmd.Encode(nil)); err != nil {
		return "", fmt.Errorf("goqmail-send at %s: %w", path, err)
	}
	typ, d, err := ipc.NewReader(c, 0).Next()
	if err == nil && typ != proto.TAnswer {
		err = fmt.Errorf("unexpected frame type %#x", typ)
	}
	var a proto.Answer
	if err == nil {
		a, err = proto.DecodeAnswer(d)
	}
	if err != nil {
		return "", fmt.Errorf("goqmail-send at %s: %w", path, err)
	}
	if !a.OK {
		return "", errors.New(a.Text)
	}
	return a.Text, nil
}
