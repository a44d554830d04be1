package events

import (
	"embed"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/knshop/knshop/lib/money"
)

//go:embed schemas/*.json
var schemaFiles embed.FS

// SchemaFile is the name of t's schema file under lib/events/schemas.
func (t Type) SchemaFile() string { return fmt.Sprintf("%s.v%d.json", t, SchemaVersion) }

// SchemaJSON returns the shipped JSON Schema document of t's data.
func SchemaJSON(t Type) ([]byte, error) {
	b, err := schemaFiles.ReadFile("schemas/" + t.SchemaFile())
	if err != nil {
		return nil, fmt.Errorf("events: schema of %s: %w", t, err)
	}
	return b, nil
}

// validate checks raw JSON data against t's schema (check: the schema of
// t's Go type and tags, the one the shipped files hold).
func validate(t Type, raw []byte) error {
	e, ok := lookup(t)
	if !ok {
		return fmt.Errorf("%w: unknown type %q", ErrInvalid, t)
	}
	if err := check(reflect.TypeOf(e.data).Elem(), raw); err != nil {
		return fmt.Errorf("%w: data of %s: %v", ErrInvalid, t, err)
	}
	return nil
}

// GenerateSchema derives the JSON Schema of t's data from its Go type. The
// files under schemas/ are its output (see TestSchemasAreGenerated).
func GenerateSchema(t Type) ([]byte, error) {
	e, ok := lookup(t)
	if !ok {
		return nil, fmt.Errorf("events: unknown type %q", t)
	}
	s := schemaOf(reflect.TypeOf(e.data).Elem(), "")
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	s["$id"] = t.Schema()
	s["title"] = string(t)
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("events: marshal schema of %s: %w", t, err)
	}
	return append(b, '\n'), nil
}

var (
	timeType  = reflect.TypeOf(time.Time{})
	moneyType = reflect.TypeOf(money.Money{})
)

// schemaOf maps a Go type to a schema; tag is the field's `schema` tag:
// "min=N" (minimum, or minItems for arrays), "max=N" (maximum of an integer), "enum=a|b", "empty" (a string
// that may be blank).
func schemaOf(t reflect.Type, tag string) map[string]any {
	opts := parseTag(tag)
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == moneyType:
		return map[string]any{
			"type":     "object",
			"required": []string{"amount", "currency"},
			"properties": map[string]any{
				"amount":   map[string]any{"type": "integer", "minimum": 0, "maximum": money.MaxTotal},
				"currency": map[string]any{"type": "string", "pattern": "^[A-Z]{3}$"},
			},
		}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return schemaOf(t.Elem(), tag)
	case reflect.String:
		s := map[string]any{"type": "string"}
		if enum, ok := opts["enum"]; ok {
			s["enum"] = strings.Split(enum, "|")
		} else if _, ok := opts["empty"]; !ok {
			s["minLength"] = 1
		}
		return s
	case reflect.Int, reflect.Int32, reflect.Int64:
		s := map[string]any{"type": "integer"}
		if m, ok := opts["min"]; ok {
			n, _ := strconv.Atoi(m)
			s["minimum"] = n
		}
		if m, ok := opts["max"]; ok {
			n, _ := strconv.ParseInt(m, 10, 64)
			s["maximum"] = n
		}
		return s
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Slice:
		// A Go nil slice marshals as null: accept it unless items are required.
		s := map[string]any{"type": []string{"array", "null"}, "items": schemaOf(t.Elem(), "")}
		if m, ok := opts["min"]; ok {
			n, _ := strconv.Atoi(m)
			s["type"], s["minItems"] = "array", n
		}
		return s
	case reflect.Map:
		return map[string]any{"type": []string{"object", "null"}}
	case reflect.Struct:
		props := map[string]any{}
		required := []string{}
		for i := range t.NumField() {
			f := t.Field(i)
			name, rest, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			props[name] = schemaOf(f.Type, f.Tag.Get("schema"))
			if !strings.Contains(rest, "omitempty") {
				required = append(required, name)
			}
		}
		return map[string]any{"type": "object", "properties": props, "required": required}
	}
	return map[string]any{}
}

func parseTag(tag string) map[string]string {
	out := map[string]string{}
	for _, part := range strings.Split(tag, ",") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		out[k] = v
	}
	return out
}
