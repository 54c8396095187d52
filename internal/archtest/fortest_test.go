package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"testing"
)

// TestForTestHooksOnlyInTests: the stand-in's test hooks (Server.ForTest)
// are reached from _test.go files only; no shipped code forces failures.
func TestForTestHooksOnlyInTests(t *testing.T) {
	const owner = "internal/core/standin"
	fset := token.NewFileSet()
	for _, p := range listPackages(t) {
		if p.ImportPath == owner {
			continue
		}
		for _, name := range p.GoFiles {
			file := filepath.Join(p.Dir, name)
			f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				if sel, ok := n.(*ast.SelectorExpr); ok && sel.Sel.Name == "ForTest" {
					t.Errorf("%s: uses .ForTest; test hooks belong in _test.go files", fset.Position(sel.Pos()))
				}
				return true
			})
		}
	}
}
