package sandbox

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// routePattern finds the routes New registers: h.mux.HandleFunc("METHOD /path", …).
var routePattern = regexp.MustCompile(`h\.mux\.HandleFunc\("([A-Z]+) (/[^"]*)"`)

type route struct{ method, path string }

// registeredRoutes reads sandbox.go's source, so that a route added there without being
// documented in openapi.yaml fails TestOpenAPIDocumentsEveryRoute.
func registeredRoutes(t *testing.T) []route {
	t.Helper()
	src, err := os.ReadFile("sandbox.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []route
	for _, m := range routePattern.FindAllStringSubmatch(string(src), -1) {
		out = append(out, route{m[1], m[2]})
	}
	if len(out) < 20 {
		t.Fatalf("found only %d routes in sandbox.go; has the registration pattern h.mux.HandleFunc(\"METHOD /path\", …) changed?", len(out))
	}
	return out
}

// openAPIDoc parses the embedded document.
func openAPIDoc(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal(openapi, &doc); err != nil {
		t.Fatalf("openapi.yaml is not valid YAML: %v", err)
	}
	return doc
}

func mapAt(t *testing.T, v any, where string) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("openapi.yaml: %s is %T, want a mapping", where, v)
	}
	return m
}

var httpMethods = []string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	doc := openAPIDoc(t)
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.0.") {
		t.Errorf("openapi = %q, want 3.0.x", v)
	}
	paths := mapAt(t, doc["paths"], "paths")
	registered := map[route]bool{}
	for _, r := range registeredRoutes(t) {
		registered[r] = true
		item, ok := paths[r.path]
		if !ok {
			t.Errorf("%s %s is registered in sandbox.go but not documented in openapi.yaml paths", r.method, r.path)
			continue
		}
		op, ok := mapAt(t, item, r.path)[strings.ToLower(r.method)]
		if !ok {
			t.Errorf("%s %s is registered in sandbox.go but openapi.yaml documents no %s operation for it", r.method, r.path, strings.ToLower(r.method))
			continue
		}
		responses := mapAt(t, mapAt(t, op, r.method+" "+r.path)["responses"], r.method+" "+r.path+" responses")
		// ServeHTTP checks the admin token before routing, so every operation can answer these.
		for _, code := range []string{"401", "403"} {
			if _, ok := responses[code]; !ok {
				t.Errorf("%s %s: no %s response documented", r.method, r.path, code)
			}
		}
	}
	// And nothing is documented that is not served.
	for path, item := range paths {
		for method := range mapAt(t, item, path) {
			if slices.Contains(httpMethods, method) && !registered[route{strings.ToUpper(method), path}] {
				t.Errorf("openapi.yaml documents %s %s, which sandbox.go does not register", strings.ToUpper(method), path)
			}
		}
	}
}

func TestOpenAPIStableCalls(t *testing.T) {
	paths := mapAt(t, openAPIDoc(t)["paths"], "paths")
	stable := map[string]bool{
		"post /sandbox/v1/users/{wa_id}/messages": true,
		"post /sandbox/v1/clock/advance":          true,
	}
	for path, item := range paths {
		for method, op := range mapAt(t, item, path) {
			if !slices.Contains(httpMethods, method) {
				continue
			}
			got, _ := mapAt(t, op, method+" "+path)["x-stability"].(string)
			key := method + " " + path
			if stable[key] && got != "stable" {
				t.Errorf("%s: x-stability = %q, want stable (scripts outside the repository use it)", key, got)
			}
			if !stable[key] && got == "stable" {
				t.Errorf("%s is marked stable; only the two fixed calls are", key)
			}
		}
	}
}

// TestOpenAPIReferences: every $ref points at a component that exists, and every path
// parameter is declared.
func TestOpenAPIReferences(t *testing.T) {
	doc := openAPIDoc(t)
	var walk func(v any, where string)
	walk = func(v any, where string) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				parts := strings.Split(strings.TrimPrefix(ref, "#/"), "/")
				var cur any = doc
				for _, p := range parts {
					m, ok := cur.(map[string]any)
					if !ok {
						cur = nil
						break
					}
					cur = m[p]
				}
				if !strings.HasPrefix(ref, "#/components/") || cur == nil {
					t.Errorf("%s: $ref %q does not resolve", where, ref)
				}
			}
			for k, x := range v {
				walk(x, where+"/"+k)
			}
		case []any:
			for _, x := range v {
				walk(x, where)
			}
		}
	}
	walk(doc, "")

	params := mapAt(t, mapAt(t, doc["components"], "components")["parameters"], "components/parameters")
	for path, item := range mapAt(t, doc["paths"], "paths") {
		item := mapAt(t, item, path)
		declared := map[string]bool{}
		collect := func(list any) {
			l, _ := list.([]any)
			for _, p := range l {
				p := mapAt(t, p, path+" parameter")
				if ref, ok := p["$ref"].(string); ok {
					p = mapAt(t, params[strings.TrimPrefix(ref, "#/components/parameters/")], ref)
				}
				if p["in"] == "path" {
					declared[p["name"].(string)] = true
				}
			}
		}
		collect(item["parameters"])
		for _, m := range httpMethods {
			if op, ok := item[m].(map[string]any); ok {
				collect(op["parameters"])
			}
		}
		for _, m := range regexp.MustCompile(`\{([^}]+)\}`).FindAllStringSubmatch(path, -1) {
			if !declared[m[1]] {
				t.Errorf("%s: path parameter %s is not declared", path, m[1])
			}
		}
	}
}
