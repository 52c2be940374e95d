// Package docscheck keeps the hand-written documentation (docs/*.md and
// README.md) from naming things that do not exist: control files,
// `goqmail` subcommands, programs, system accounts and sockets. What can be
// generated from the code is generated (docs/control.md, the reply table
// of docs/smtp.md, the tables of docs/processes.md); this checks the rest.
//
// The checks look only where a name is unambiguous, so prose cannot set
// them off: a path `control/NAME` or `run/NAME.sock`, a word starting
// `goqmail-` or `goqmail` plus letters, and `goqmail WORD` where a shell
// command starts (a code span, a line of a code block, after a pipe).
// Blocks of program output are fenced as ```text and are not commands.
package docscheck

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"goqmail/internal/accounts"
	"goqmail/internal/control"
	"goqmail/internal/supervise"
)

// Facts are the names that exist, read from the code.
type Facts struct {
	ControlFiles map[string]bool // declared in internal/control
	Subcommands  map[string]bool // first words cmd/goqmail accepts
	Programs     map[string]bool // directories under cmd/
	Accounts     map[string]bool // system accounts and groups
	Sockets      map[string]bool // files the supervisor makes in run/
}

// Load reads the facts of the source tree at root.
func Load(root string) (Facts, error) {
	f := Facts{ControlFiles: map[string]bool{}, Programs: map[string]bool{}, Accounts: map[string]bool{}, Sockets: map[string]bool{}}
	for _, st := range control.All {
		f.ControlFiles[st.Name] = true
	}
	entries, err := os.ReadDir(filepath.Join(root, "cmd"))
	if err != nil {
		return f, err
	}
	for _, e := range entries {
		if e.IsDir() {
			f.Programs[e.Name()] = true
		}
	}
	for _, a := range append(accounts.All, accounts.Demo) {
		f.Accounts[a.Name] = true
	}
	for _, g := range accounts.Groups {
		f.Accounts[g] = true
	}
	for _, sk := range supervise.Sockets {
		f.Sockets[sk.File] = true
	}
	f.Subcommands, err = subcommands(filepath.Join(root, "cmd", "goqmail"))
	return f, err
}

// subcommands reads the first words `goqmail` accepts: the `name` of every
// entry of its command table (composite literals with both a name and a
// run field, cmd/goqmail/main.go).
func subcommands(dir string) (map[string]bool, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	words := map[string]bool{}
	fset := token.NewFileSet()
	for _, n := range names {
		if strings.HasSuffix(n, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, n, nil, 0)
		if err != nil {
			return nil, err
		}
		ast.Inspect(file, func(node ast.Node) bool {
			lit, ok := node.(*ast.CompositeLit)
			if !ok {
				return true
			}
			name, hasRun := "", false
			for _, e := range lit.Elts {
				kv, ok := e.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				key, ok := kv.Key.(*ast.Ident)
				if !ok {
					continue
				}
				switch key.Name {
				case "run":
					hasRun = true
				case "name":
					if v, ok := kv.Value.(*ast.BasicLit); ok && v.Kind == token.STRING {
						name, _ = strconv.Unquote(v.Value)
					}
				}
			}
			if hasRun && name != "" {
				words[name] = true
			}
			return true
		})
	}
	if len(words) > 0 {
		words["help"] = true // `goqmail help [COMMAND]`, answered by the parser itself
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("%s: no command table (entries with name and run fields): teach docscheck where goqmail's subcommands are declared", dir)
	}
	return words, nil
}

// Problem is one name in a document that does not exist.
type Problem struct {
	File string
	Line int
	What string
}

func (p Problem) String() string { return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.What) }

var (
	// A control file: control/NAME, but not the package internal/control.
	controlRE = regexp.MustCompile(`([A-Za-z0-9_.-]*/)?control/([a-z0-9][a-z0-9._-]*)`)
	socketRE  = regexp.MustCompile(`\brun/([A-Za-z0-9_.-]+\.sock)\b`)
	// A program: goqmail-NAME, maybe in a path (cmd/ and bin/ name
	// programs; other paths, like /var/tmp/goqmail-bench, do not).
	programRE = regexp.MustCompile(`([A-Za-z0-9_./-]*/)?\b(goqmail-[a-z0-9]+(?:-[a-z0-9]+)*)`)
	// An account, group or goqmaild: goqmail and letters, not an address.
	accountRE = regexp.MustCompile(`\b(goqmail[a-z0-9]+)\b(@?)`)
	// goqmail WORD where a command starts; WORD may be alternatives
	// (domain|user|alias, \| inside a table).
	commandRE = regexp.MustCompile(`(?:^|[|;&]\s*|\$\s+|sudo\s+)(?:[A-Z_]+=\S*\s+)*(?:[A-Za-z0-9_.~/-]*/)?goqmail ([a-z][a-z0-9-]*(?:\\?\|[a-z][a-z0-9-]*)*)`)
	spanRE    = regexp.MustCompile("`([^`]+)`")
)

// Check returns every name in the Markdown text that f does not know.
func Check(file string, text string, f Facts) []Problem {
	var probs []Problem
	add := func(line int, format string, args ...any) {
		probs = append(probs, Problem{file, line, fmt.Sprintf(format, args...)})
	}
	var fence string // the info string of the open fence
	inFence, inBlock, prevBlank := false, false, true
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		for _, m := range controlRE.FindAllStringSubmatch(line, -1) {
			name := strings.TrimRight(m[2], ".")
			if m[1] == "internal/" || f.ControlFiles[name] {
				continue
			}
			add(n, "control/%s is not a control file declared in internal/control/settings.go", name)
		}
		for _, m := range socketRE.FindAllStringSubmatch(line, -1) {
			if !f.Sockets[m[1]] {
				add(n, "run/%s is not a socket in internal/supervise/table.go", m[1])
			}
		}
		for _, m := range programRE.FindAllStringSubmatch(line, -1) {
			if m[1] != "" && !strings.HasSuffix(m[1], "cmd/") && !strings.HasSuffix(m[1], "bin/") {
				continue
			}
			if !f.Programs[m[2]] {
				add(n, "%s is not a program: there is no cmd/%s", m[2], m[2])
			}
		}
		for _, m := range accountRE.FindAllStringSubmatch(line, -1) {
			if m[2] == "" && !f.Accounts[m[1]] && !f.Programs[m[1]] {
				add(n, "%s is neither a program nor an account or group of internal/accounts", m[1])
			}
		}

		// Where commands are: lines of code blocks (fenced, or indented
		// after a blank line) and code spans elsewhere.
		trimmed := strings.TrimSpace(line)
		indented := strings.HasPrefix(line, "    ") || strings.HasPrefix(line, "\t")
		var code []string
		switch {
		case strings.HasPrefix(trimmed, "```"):
			inFence = !inFence
			fence = strings.TrimSpace(strings.TrimPrefix(trimmed, "```"))
		case inFence:
			if fence == "" || fence == "sh" || fence == "shell" || fence == "console" {
				code = append(code, trimmed)
			}
		case indented && (prevBlank || inBlock):
			code = append(code, trimmed)
		default:
			for _, m := range spanRE.FindAllStringSubmatch(line, -1) {
				code = append(code, strings.TrimSpace(m[1]))
			}
		}
		inBlock = !inFence && (indented && (prevBlank || inBlock) || inBlock && trimmed == "")
		prevBlank = trimmed == ""
		for _, c := range code {
			for _, m := range commandRE.FindAllStringSubmatch(c, -1) {
				for _, w := range strings.Split(strings.ReplaceAll(m[1], `\|`, "|"), "|") {
					if !f.Subcommands[w] {
						add(n, "goqmail %s: cmd/goqmail accepts no subcommand %q", w, w)
					}
				}
			}
		}
	}
	return probs
}
