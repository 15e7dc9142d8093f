package incident

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestIncidentImportsNoPagerdPackage: the state machine is the bottom of the
// data flow (sources → router → cluster → incident): it imports no other
// pagerd package, config included (it once did, for one severity helper),
// except leaf helpers that import nothing of pagerd themselves.
var leafHelpers = map[string]bool{
	"github.com/pagerd/pagerd/internal/jsonenc": true, // JSON strings as json.Marshal writes them; imports only the standard library
}

func TestIncidentImportsNoPagerdPackage(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, "github.com/pagerd/pagerd/") && !leafHelpers[path] {
				t.Errorf("%s imports %s", name, path)
			}
		}
	}
}
