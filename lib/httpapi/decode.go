package httpapi

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// MaxBodyBytes is the largest request body any route reads.
const MaxBodyBytes = 1 << 20

// decodeOptions make the decoder exact: names match case-sensitively (the
// v2 default), an unknown name is an error, and duplicate names and invalid
// UTF-8 anywhere in the body are rejected (also v2 defaults, kept explicit
// here so a change of defaults cannot loosen them).
var decodeOptions = json.JoinOptions(
	json.RejectUnknownMembers(true),
	json.MatchCaseInsensitiveNames(false),
	jsontext.AllowDuplicateNames(false),
	jsontext.AllowInvalidUTF8(false),
)

// Decode reads r's JSON body into v strictly: the content type must be JSON,
// the body at most MaxBodyBytes, one JSON value (nothing after it) whose
// names match v's fields exactly (case included), with no unknown or repeated
// name, no invalid UTF-8, no value of the wrong type (so an object such as
// {"$ne": null} can never stand where a string belongs) and no fractional or
// out-of-range number for an integer. Every failure is a 400 *Problem naming
// the field when it can.
//
// The decoder is github.com/go-json-experiment/json, the reference
// implementation of encoding/json/v2: it enforces each of these rules while
// parsing and reports where in the body it failed as a JSON Pointer, which
// encoding/json (v1) cannot do for case, duplicates or UTF-8.
func Decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return BadRequest("the body must be application/json")
		}
	}
	if err := json.UnmarshalRead(http.MaxBytesReader(w, r.Body, MaxBodyBytes), v, decodeOptions); err != nil {
		return decodeProblem(err)
	}
	return nil
}

// DecodeValid decodes r's body into v (Decode), then checks v with check:
// the first problem is the error.
func DecodeValid(w http.ResponseWriter, r *http.Request, v any, check func() error) error {
	if err := Decode(w, r, v); err != nil {
		return err
	}
	return check()
}

func decodeProblem(err error) *Problem {
	var (
		tooLarge *http.MaxBytesError
		syntax   *jsontext.SyntacticError
		semantic *json.SemanticError
	)
	switch {
	case errors.As(err, &tooLarge):
		return BadRequest(fmt.Sprintf("the body is larger than %d bytes", MaxBodyBytes))
	case errors.As(err, &syntax):
		return syntaxProblem(syntax)
	case errors.As(err, &semantic):
		return semanticProblem(semantic)
	}
	return BadRequest("the body is not valid JSON for this route")
}

func syntaxProblem(e *jsontext.SyntacticError) *Problem {
	field := FieldName(e.JSONPointer)
	switch {
	case errors.Is(e.Err, jsontext.ErrDuplicateName):
		return Invalid(FieldError{Field: field, Message: "appears more than once"})
	case strings.Contains(e.Err.Error(), "UTF-8"):
		return Invalid(FieldError{Field: field, Message: "is not valid UTF-8"})
	case e.ByteOffset == 0 && strings.Contains(e.Error(), "EOF"):
		return BadRequest("the body is empty; a JSON object is required")
	case e.JSONPointer == "" && strings.Contains(e.Error(), "after top-level value"):
		return BadRequest("the body must hold a single JSON value")
	}
	return BadRequest(fmt.Sprintf("malformed JSON at byte %d", e.ByteOffset))
}

func semanticProblem(e *json.SemanticError) *Problem {
	field := FieldName(e.JSONPointer)
	switch {
	case errors.Is(e.Err, json.ErrUnknownName):
		return Invalid(FieldError{Field: field, Message: "unknown field (names are case-sensitive)"})
	case e.GoType != nil && e.JSONKind != 0 && e.Err == nil:
		return Invalid(FieldError{Field: field, Message: fmt.Sprintf("must be %s, not %s", goKind(e.GoType.Kind().String()), jsonKind(e.JSONKind))})
	case e.GoType != nil && e.JSONKind == '0':
		return Invalid(FieldError{Field: field, Message: fmt.Sprintf("must be %s in range", goKind(e.GoType.Kind().String()))})
	}
	return Invalid(FieldError{Field: field, Message: "has an invalid value"})
}

// FieldName turns a JSON Pointer ("/items/0/quantity") into the field
// notation of problem answers ("items[0].quantity"); the whole body is
// "(body)".
func FieldName(pointer jsontext.Pointer) string {
	if pointer == "" {
		return "(body)"
	}
	var b strings.Builder
	for tok := range pointer.Tokens() {
		if _, err := strconv.Atoi(tok); err == nil && b.Len() > 0 {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

func jsonKind(k jsontext.Kind) string {
	switch k {
	case '"':
		return "a string"
	case '0':
		return "a number"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	case '[':
		return "an array"
	case '{':
		return "an object"
	}
	return "another value"
}

func goKind(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	case "ptr":
		return "a value of another type"
	}
	return "another type"
}
