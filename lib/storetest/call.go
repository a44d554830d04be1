package storetest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// Answer is an HTTP answer as a test reads it.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// Call sends method url with body (JSON when not empty), the bearer token
// when given, and the header pairs (name, value, ...), and reads the whole
// answer. A transport error fails the test.
func Call(t testing.TB, method, url, token, body string, header ...string) Answer {
	t.Helper()
	return CallWith(t, http.DefaultClient.Do, method, url, token, body, header...)
}

// CallWith is Call sending the request with do: a client's Do, or a
// transport's RoundTrip to see the answer as the server sent it (no
// redirect followed, no transparent decompression).
func CallWith(t testing.TB, do func(*http.Request) (*http.Response, error), method, url, token, body string, header ...string) Answer {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Answer{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Must fails the test unless a's status is want, and returns a.
func (a Answer) Must(t testing.TB, want int) Answer {
	t.Helper()
	if a.Status != want {
		t.Fatalf("status %d, want %d: %s", a.Status, want, a.Body)
	}
	return a
}

// JSONOf decodes a's body as a T; a body that is not one fails the test.
func JSONOf[T any](t testing.TB, a Answer) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(a.Body, &v); err != nil {
		t.Fatalf("answer %d %s: %v", a.Status, a.Body, err)
	}
	return v
}
