package events

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the schema files under schemas/")

// The shipped schemas are exactly what the Go types generate: change a data
// type and `go test ./lib/events -update` rewrites them.
func TestSchemasAreGenerated(t *testing.T) {
	for _, typ := range Types() {
		t.Run(string(typ), func(t *testing.T) {
			want, err := GenerateSchema(typ)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("schemas", typ.SchemaFile())
			if *update {
				if err := os.WriteFile(path, want, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("schema file missing (run go test ./lib/events -update): %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s is stale: run go test ./lib/events -update", path)
			}
		})
	}
}

func TestCatalogHasTwentyFourTypes(t *testing.T) {
	if n := len(Types()); n != 24 {
		t.Fatalf("catalog has %d types, want 24", n)
	}
	seen := map[Type]bool{}
	for _, typ := range Types() {
		if seen[typ] {
			t.Fatalf("%s listed twice", typ)
		}
		seen[typ] = true
		e, _ := lookup(typ)
		if e.data.EventType() != typ {
			t.Fatalf("%s maps to data of %s", typ, e.data.EventType())
		}
	}
}
