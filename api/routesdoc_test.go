package api

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// docs/operations.md's scope table lists every bearer-token route of
// the api package (server.go and the files that mount their own routes)
// with the scope requiredScope gives it: a route added without a
// row, or a row whose scope drifted, fails here (a cheap doc-drift guard).
func TestScopeTableMatchesRoutes(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	var src []byte
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src = append(src, b...)
	}
	doc, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	routes := regexp.MustCompile(`m\.Handle\("([A-Z]+ /v1/[^"]+)", s\.auth\(`).FindAllStringSubmatch(string(src), -1)
	if len(routes) < 20 {
		t.Fatalf("found only %d auth routes in api/*.go; has the registration changed?", len(routes))
	}
	rows := map[string]string{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([A-Z]+ /v1/[^`]+)` \\| (read|respond|admin)\\b").FindAllStringSubmatch(string(doc), -1) {
		rows[m[1]] = m[2]
	}
	for _, r := range routes {
		pattern := r[1]
		method, path, _ := strings.Cut(pattern, " ")
		req := httptest.NewRequest(method, "/", nil)
		req.Pattern = pattern
		want := requiredScope(req)
		got, ok := rows[pattern]
		switch {
		case !ok:
			t.Errorf("docs/operations.md has no scope row for %s %s (needs %s)", method, path, want)
		case got != want:
			t.Errorf("docs/operations.md says %s needs %s; requiredScope says %s", pattern, got, want)
		}
		delete(rows, pattern)
	}
	for pattern := range rows {
		t.Errorf("docs/operations.md lists %s, which the api package does not register", pattern)
	}
}
