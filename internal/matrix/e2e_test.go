package matrix_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cilium-docker/cilium-docker/internal/matrix"
)

// e2eTests are the top-level Test functions of e2e/*_test.go (func TestX(t *testing.T)), read with
// go/parser: no build, so no build tag or root hides one.
func e2eTests(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "e2e", "*_test.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("e2e/*_test.go: %v (%d files)", err, len(files))
	}
	var names []string
	fset := token.NewFileSet()
	for _, f := range files {
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatalf("parse %s: %v", f, err)
		}
		for _, d := range file.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if ok && fn.Recv == nil && isTest(fn) {
				names = append(names, fn.Name.Name)
			}
		}
	}
	slices.Sort(names)
	return names
}

// isTest says whether fn is a test go test runs: TestX(t *testing.T), X not starting lower case.
func isTest(fn *ast.FuncDecl) bool {
	name := fn.Name.Name
	if !strings.HasPrefix(name, "Test") || name == "TestMain" {
		return false
	}
	if rest := name[len("Test"):]; rest != "" && strings.ToLower(rest[:1]) == rest[:1] && strings.ToUpper(rest[:1]) != rest[:1] {
		return false
	}
	params := fn.Type.Params.List
	if len(params) != 1 {
		return false
	}
	star, ok := params[0].Type.(*ast.StarExpr)
	if !ok {
		return false
	}
	sel, ok := star.X.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == "T" && isIdent(sel.X, "testing")
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

// TestEveryE2ETestIsDeclared: every test of e2e/ has its legs in the table, and every table entry is
// a test of e2e/.
func TestEveryE2ETestIsDeclared(t *testing.T) {
	have := e2eTests(t)
	if len(have) < 40 {
		t.Fatalf("found %d tests in e2e/, want the suite (40 or more): %v", len(have), have)
	}
	var declared []string
	for _, tt := range matrix.Tests() {
		declared = append(declared, tt.Name)
	}
	for _, n := range have {
		if !slices.Contains(declared, n) {
			t.Errorf("e2e/ test %s declares no legs: add it to matrix.Tests (internal/matrix/tests.go)", n)
		}
	}
	for _, n := range declared {
		if !slices.Contains(have, n) {
			t.Errorf("matrix.Tests declares %s, which is no test of e2e/ (renamed or removed?)", n)
		}
	}
}
