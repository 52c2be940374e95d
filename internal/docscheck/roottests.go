package docscheck

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// The README lists the tests that need root and those that need an
// ordinary user, generated from the tests themselves: a test that skips
// says so with t.Skip("needs root: why"), t.Skip("needs an ordinary user:
// why") or test/e2e's needRoot(t, "why").
const (
	needsRoot = "needs root: "
	needsUser = "needs an ordinary user: "
)

// SkipTest is a test that runs only as root, or only without root.
type SkipTest struct {
	Pkg, Name string
	Root      bool // needs root; else needs an ordinary user
	Why       string
}

// SkipTests finds them in every _test.go file under root's cmd, internal,
// scripts and test directories. loose lists the other skips that mention
// root ("file:line: message"): they should say which of the two they mean.
func SkipTests(root string) (found []SkipTest, loose []string, err error) {
	fset := token.NewFileSet()
	for _, top := range []string{"cmd", "internal", "scripts", "test"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			pkg, _ := filepath.Rel(root, filepath.Dir(path))
			for _, d := range f.Decls {
				fn, ok := d.(*ast.FuncDecl)
				if !ok || fn.Body == nil || !strings.HasPrefix(fn.Name.Name, "Test") {
					continue
				}
				ast.Inspect(fn.Body, func(n ast.Node) bool {
					switch st, kind := skipOf(n); kind {
					case skipFound:
						st.Pkg, st.Name = filepath.ToSlash(pkg), fn.Name.Name
						found = append(found, st)
					case skipLoose:
						loose = append(loose, fmt.Sprintf("%s: %s: %q", fset.Position(n.Pos()), fn.Name.Name, st.Why))
					}
					return true
				})
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	sort.Slice(found, func(i, j int) bool {
		a, b := found[i], found[j]
		if a.Root != b.Root {
			return a.Root
		}
		if a.Pkg != b.Pkg {
			return a.Pkg < b.Pkg
		}
		return a.Name < b.Name
	})
	return found, loose, nil
}

const (
	skipNone = iota
	skipFound
	skipLoose // a skip that mentions root but says neither "needs root" nor "needs an ordinary user"
)

// skipOf recognises needRoot(t, "why") and t.Skip/Skipf("needs ...: why").
func skipOf(n ast.Node) (SkipTest, int) {
	call, ok := n.(*ast.CallExpr)
	if !ok || len(call.Args) == 0 {
		return SkipTest{}, skipNone
	}
	str := func(e ast.Expr) (string, bool) {
		lit, ok := e.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(lit.Value)
		return s, err == nil
	}
	switch fun := call.Fun.(type) {
	case *ast.Ident:
		if fun.Name == "needRoot" && len(call.Args) == 2 {
			if why, ok := str(call.Args[1]); ok {
				return SkipTest{Root: true, Why: why}, skipFound
			}
		}
	case *ast.SelectorExpr:
		if fun.Sel.Name != "Skip" && fun.Sel.Name != "Skipf" {
			return SkipTest{}, skipNone
		}
		s, ok := str(call.Args[0])
		switch {
		case !ok:
		case strings.HasPrefix(s, needsRoot):
			return SkipTest{Root: true, Why: strings.TrimPrefix(s, needsRoot)}, skipFound
		case strings.HasPrefix(s, needsUser):
			return SkipTest{Why: strings.TrimPrefix(s, needsUser)}, skipFound
		case strings.Contains(strings.ToLower(s), "root"):
			return SkipTest{Why: s}, skipLoose
		}
	}
	return SkipTest{}, skipNone
}

// skipTestsMarkdown renders the README's table.
func skipTestsMarkdown(tests []SkipTest) string {
	var b strings.Builder
	b.WriteString("| runs only | test | why |\n|---|---|---|\n")
	for _, t := range tests {
		who := "as root"
		if !t.Root {
			who = "without root"
		}
		fmt.Fprintf(&b, "| %s | `%s` %s | %s |\n", who, t.Pkg, t.Name, strings.ReplaceAll(t.Why, "|", "\\|"))
	}
	return b.String()
}
