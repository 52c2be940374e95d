package web

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// constValues returns the string constants named Op* (contract) or op*
// (front) declared in the files.
func constValues(t *testing.T, prefix string, files ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	fset := token.NewFileSet()
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		af, err := parser.ParseFile(fset, f, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range af.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, sp := range gd.Specs {
				vs := sp.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if !strings.HasPrefix(n.Name, prefix) || i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						v, _ := strconv.Unquote(lit.Value)
						out[v] = n.Name
					}
				}
			}
		}
	}
	return out
}

// TestEveryContractOpHasAFrontOp: the front does not link the session
// packages, so it keeps its own names of their ops; this test reads the
// contract files and fails when an op is added there that the front does
// not use, or when the front names an op the contract does not have.
func TestEveryContractOpHasAFrontOp(t *testing.T) {
	contract := constValues(t, "Op", filepath.Join("..", "webmbox", "ops.go"), filepath.Join("..", "webadmin", "ops.go"))
	front := constValues(t, "op", "mail.go", "admin.go")
	var missing, unknown []string
	for v, name := range contract {
		if _, ok := front[v]; !ok {
			missing = append(missing, name+"="+v)
		}
	}
	for v, name := range front {
		if _, ok := contract[v]; !ok {
			unknown = append(unknown, name+"="+v)
		}
	}
	sort.Strings(missing)
	sort.Strings(unknown)
	if len(missing) > 0 || len(unknown) > 0 || len(contract) < 40 {
		t.Fatalf("%d contract ops; the front lacks %v and names unknown %v", len(contract), missing, unknown)
	}
	// And every front op is called somewhere outside its declaration.
	var src strings.Builder
	for _, f := range []string{"mail.go", "parts.go", "compose.go", "settings.go", "admin.go"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src.Write(b)
	}
	for _, name := range front {
		if strings.Count(src.String(), name) < 2 {
			t.Errorf("op constant %s is declared but never used", name)
		}
	}
}
