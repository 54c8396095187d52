package metrics_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"testing"

	"github.com/uid2-private-operator/uid2-operator/internal/metrics"
)

// TestFamiliesListsEveryDeclaredFamily reads families.go: a Family declared
// there but left out of Families() would escape the README table, the
// naming checks and the monitoring test.
func TestFamiliesListsEveryDeclaredFamily(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "families.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, fam := range metrics.Families() {
		listed[fam.Name] = true
	}
	declared := 0
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.CompositeLit)
		if !ok {
			return true
		}
		if id, isIdent := lit.Type.(*ast.Ident); !isIdent || id.Name != "Family" {
			return true
		}
		for _, e := range lit.Elts {
			kv, ok := e.(*ast.KeyValueExpr)
			if !ok {
				continue
			}
			if k, isIdent := kv.Key.(*ast.Ident); !isIdent || k.Name != "Name" {
				continue
			}
			name, err := strconv.Unquote(kv.Value.(*ast.BasicLit).Value)
			if err != nil {
				t.Fatal(err)
			}
			declared++
			if !listed[name] {
				t.Errorf("%s is declared in families.go but not listed in Families()", name)
			}
		}
		return true
	})
	if declared != len(listed) {
		t.Errorf("families.go declares %d families, Families() lists %d", declared, len(listed))
	}
}
