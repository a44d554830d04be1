package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/knshop/knshop/lib/money"
)

// check validates raw JSON data against the schema of Go type t, the same
// schema GenerateSchema writes (schemaOf): it walks the JSON value beside
// the type and its `schema` tags. It replaces a JSON Schema engine at run
// time, whose package initialisation alone (compiling its metaschemas)
// cost more than the rest of a function's start; the shipped schema files
// stay the contract for consumers, and TestCheckAgreesWithTheSchemas runs
// both on the same valid and broken data.
func check(t reflect.Type, raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("not JSON: %v", err)
	}
	return checkValue(t, "", v, "")
}

var moneyAmountBounds = map[string]string{"min": "0", "max": strconv.FormatInt(money.MaxTotal, 10)}

func checkValue(t reflect.Type, tag string, v any, at string) error {
	opts := parseTag(tag)
	switch {
	case t == timeType:
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: want a date-time string", where(at))
		}
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			return fmt.Errorf("%s: %q is not an RFC 3339 date-time", where(at), s)
		}
		return nil
	case t == moneyType:
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: want an object", where(at))
		}
		a, ok := m["amount"]
		if !ok {
			return fmt.Errorf("%s: amount is required", where(at))
		}
		if err := checkInt(a, at+".amount", moneyAmountBounds); err != nil {
			return err
		}
		c, ok := m["currency"].(string)
		if !ok || !money.ValidCurrency(c) {
			return fmt.Errorf("%s.currency: want an ISO 4217 code", where(at))
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		return checkValue(t.Elem(), tag, v, at)
	case reflect.String:
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: want a string", where(at))
		}
		if enum, ok := opts["enum"]; ok {
			if !slices.Contains(strings.Split(enum, "|"), s) {
				return fmt.Errorf("%s: %q is not one of %s", where(at), s, enum)
			}
		} else if _, ok := opts["empty"]; !ok && s == "" {
			return fmt.Errorf("%s: must not be empty", where(at))
		}
		return nil
	case reflect.Int, reflect.Int32, reflect.Int64:
		return checkInt(v, at, opts)
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: want a boolean", where(at))
		}
		return nil
	case reflect.Slice:
		min, hasMin := opts["min"]
		if v == nil && !hasMin {
			return nil
		}
		items, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: want an array", where(at))
		}
		if n, _ := strconv.Atoi(min); hasMin && len(items) < n {
			return fmt.Errorf("%s: want at least %d items", where(at), n)
		}
		for i, it := range items {
			if err := checkValue(t.Elem(), "", it, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		if _, ok := v.(map[string]any); !ok && v != nil {
			return fmt.Errorf("%s: want an object", where(at))
		}
		return nil
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: want an object", where(at))
		}
		for i := range t.NumField() {
			f := t.Field(i)
			name, rest, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			fv, present := m[name]
			if !present {
				if !strings.Contains(rest, "omitempty") {
					return fmt.Errorf("%s: %s is required", where(at), name)
				}
				continue
			}
			if err := checkValue(f.Type, f.Tag.Get("schema"), fv, joinPath(at, name)); err != nil {
				return err
			}
		}
		return nil
	}
	return nil
}

// checkInt accepts a JSON number with no fractional part within the tag's
// min and max, as JSON Schema's "integer" does (2.0 is an integer). The
// bounds knshop uses are far below 2^53, where float64 is exact.
func checkInt(v any, at string, opts map[string]string) error {
	n, ok := v.(json.Number)
	if !ok {
		return fmt.Errorf("%s: want an integer", where(at))
	}
	f, err := strconv.ParseFloat(n.String(), 64)
	if err != nil || f != math.Trunc(f) {
		return fmt.Errorf("%s: %s is not an integer", where(at), n)
	}
	if m, ok := opts["min"]; ok {
		if lo, _ := strconv.ParseFloat(m, 64); f < lo {
			return fmt.Errorf("%s: %s is under %s", where(at), n, m)
		}
	}
	if m, ok := opts["max"]; ok {
		if hi, _ := strconv.ParseFloat(m, 64); f > hi {
			return fmt.Errorf("%s: %s is over %s", where(at), n, m)
		}
	}
	return nil
}

func joinPath(at, name string) string {
	if at == "" {
		return name
	}
	return at + "." + name
}

func where(at string) string {
	if at == "" {
		return "(data)"
	}
	return at
}
