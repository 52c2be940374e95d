package web

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"goqmail/internal/logline"
)

// TestDocsListEveryRoute: docs/web.md's route table names every path the
// front answers.
func TestDocsListEveryRoute(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "web.md"))
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(doc), "## The front")
	if i < 0 {
		t.Fatal("docs/web.md has no section \"The front\"")
	}
	sec := string(doc[i:])
	srv := New(nil, logline.NewTo(io.Discard, "web"), Limits{}, nil)
	for _, r := range srv.Routes() {
		if !strings.Contains(sec, "`"+r.Method+" "+r.Path+"`") && !strings.Contains(sec, "`"+r.Path+"`") {
			t.Errorf("docs/web.md, The front: no %s %s", r.Method, r.Path)
		}
	}
}
