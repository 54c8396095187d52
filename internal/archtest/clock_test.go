package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"testing"
)

// loopPackages run the operator's background loops and timed waits; they
// take a clock.Clock so that tests advance a fake clock instead of sleeping.
var loopPackages = []string{
	"internal/core", "internal/health", "internal/lifecycle", "internal/admission",
	"internal/optout", "internal/store",
}

// TestLoopsUseTheClock: shipped code in loopPackages makes no tickers,
// timers or sleeps of package time; they come from the injected clock.
func TestLoopsUseTheClock(t *testing.T) {
	banned := map[string]bool{"NewTicker": true, "NewTimer": true, "After": true, "AfterFunc": true, "Tick": true, "Sleep": true}
	fset := token.NewFileSet()
	for _, p := range listPackages(t) {
		if !hasPrefix(p.ImportPath, loopPackages) || p.ImportPath == "internal/core/standin" {
			continue
		}
		for _, name := range p.GoFiles {
			file := filepath.Join(p.Dir, name)
			f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			timeName := ""
			for _, imp := range f.Imports {
				if imp.Path.Value == `"time"` {
					timeName = "time"
					if imp.Name != nil {
						timeName = imp.Name.Name
					}
				}
			}
			if timeName == "" {
				continue
			}
			ast.Inspect(f, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if id, ok := sel.X.(*ast.Ident); ok && id.Name == timeName && banned[sel.Sel.Name] {
					t.Errorf("%s: time.%s; loops take their tickers and timers from a clock.Clock", fset.Position(sel.Pos()), sel.Sel.Name)
				}
				return true
			})
		}
	}
}
