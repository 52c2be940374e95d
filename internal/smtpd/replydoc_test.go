package smtpd

import (
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"goqmail/internal/mdsection"
)

var update = flag.Bool("update", false, "rewrite the reply table in docs/smtp.md from replyTable")

const regenerate = "generated from internal/smtpd/replydoc.go by `go test ./internal/smtpd -run TestSMTPDocUpToDate -update`"

func TestSMTPDocUpToDate(t *testing.T) {
	stale, err := mdsection.Sync("../../docs/smtp.md", "replies", regenerate, replyMarkdown(), *update)
	if err != nil {
		t.Fatal(err)
	}
	if stale && !*update {
		t.Fatal("the reply table in docs/smtp.md is stale: run go test ./internal/smtpd -run TestSMTPDocUpToDate -update")
	}
}

// TestEveryReplyDocumented keeps replyTable complete, reading the source:
// every package-level smtp.Reply variable of smtpd and policy and every
// reply constructor (a func reply...) must appear in it, and no function
// may build a reply of its own (a smtp.Reply literal with fields) outside
// the constructors, so that nothing reaches a client undocumented.
func TestEveryReplyDocumented(t *testing.T) {
	declared := map[string]string{} // name as used here -> where
	for _, pkg := range []struct{ dir, prefix string }{{".", ""}, {"../policy", "policy."}} {
		for _, f := range parseDir(t, pkg.dir) {
			for _, d := range f.file.Decls {
				switch d := d.(type) {
				case *ast.GenDecl:
					for _, spec := range d.Specs {
						vs, ok := spec.(*ast.ValueSpec)
						if !ok {
							continue
						}
						for i, v := range vs.Values {
							if isReplyLit(v) && vs.Names[i].Name != "_" {
								declared[pkg.prefix+vs.Names[i].Name] = f.name
							}
						}
					}
				case *ast.FuncDecl:
					name := d.Name.Name
					// policy's constructors are exported, for smtpd
					// to call: ReplyX there, replyX here.
					prefix := "reply"
					if pkg.prefix != "" {
						prefix = "Reply"
					}
					constructor := d.Recv == nil && strings.HasPrefix(name, prefix) && returnsReply(d)
					if constructor {
						declared[pkg.prefix+name] = f.name
					}
					if constructor || d.Body == nil || f.name == "replydoc.go" {
						continue
					}
					ast.Inspect(d.Body, func(n ast.Node) bool {
						if cl, ok := n.(*ast.CompositeLit); ok && isReplyLit(cl) && len(cl.Elts) > 0 {
							t.Errorf("%s%s: %s builds a reply: declare it in replies.go (or as a reply... constructor) and add it to replyTable",
								pkg.prefix, f.name, name)
						}
						return true
					})
				}
			}
		}
	}
	if len(declared) < 40 {
		t.Fatalf("found only %d replies: does this test still read the source right?", len(declared))
	}
	used := map[string]bool{}
	for _, f := range parseDir(t, ".") {
		if f.name != "replydoc.go" {
			continue
		}
		ast.Inspect(f.file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.Ident:
				used[n.Name] = true
			case *ast.SelectorExpr:
				if x, ok := n.X.(*ast.Ident); ok {
					used[x.Name+"."+n.Sel.Name] = true
				}
			}
			return true
		})
	}
	var missing []string
	for name, where := range declared {
		if !used[name] {
			missing = append(missing, name+" ("+where+")")
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("%s is not in replyTable (replydoc.go): add it with when it is given, then go test ./internal/smtpd -run TestSMTPDocUpToDate -update", m)
	}
}

type sourceFile struct {
	name string
	file *ast.File
}

func parseDir(t *testing.T, dir string) []sourceFile {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var files []sourceFile
	fset := token.NewFileSet()
	for _, n := range names {
		if strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, n, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, sourceFile{filepath.Base(n), f})
	}
	return files
}

func isReplyType(e ast.Expr) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	x, ok := sel.X.(*ast.Ident)
	return ok && x.Name == "smtp" && sel.Sel.Name == "Reply"
}

func isReplyLit(e ast.Expr) bool {
	cl, ok := e.(*ast.CompositeLit)
	return ok && isReplyType(cl.Type)
}

func returnsReply(d *ast.FuncDecl) bool {
	r := d.Type.Results
	return r != nil && len(r.List) == 1 && len(r.List[0].Names) <= 1 && isReplyType(r.List[0].Type)
}
