package remote

import (
	"testing"

	"goqmail/internal/proto"
)

// remote's line names send's delivery number and the queue id, so that
// one message can be followed into goqmail-remote (docs/logs.md).
func TestJobLineNamesTheMessage(t *testing.T) {
	job := proto.Remote{Seq: 7, ID: "18ebb2eb4a47baed", Domain: "far.example", Rcpts: []string{"a@far.example", "b@far.example", "c@far.example"}}
	rep := []proto.RcptResult{{Result: proto.ResultSuccess}, {Result: proto.ResultPermanent}, {Result: proto.ResultDeferral}}
	results := []Result{{Host: "127.0.0.3:25"}, {Host: "127.0.0.3:25"}, {}}
	want := "delivery 7: msg 18ebb2eb4a47baed to far.example: 1 accepted, 1 failed, 1 deferred (via 127.0.0.3:25)"
	if got := jobLine(job, rep, results); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	want = "delivery 7: msg 18ebb2eb4a47baed to far.example: 0 accepted, 0 failed, 3 deferred (no host answered)"
	if got := jobLine(job, make([]proto.RcptResult, 3), nil); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
