package storetest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

// Deliver POSTs e to h (an event function behind fn.Handler) in binary
// mode, as the Broker does, and returns the status code and the reply
// event of a 200.
func Deliver(t testing.TB, h http.Handler, e event.Event) (int, *event.Event) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/", nil)
	if err := cehttp.WriteRequest(context.Background(), binding.ToMessage(&e), req); err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		return w.Code, nil
	}
	reply, err := cehttp.NewEventFromHTTPResponse(w.Result())
	if err != nil {
		t.Fatalf("storetest: reply of a 200: %v", err)
	}
	return w.Code, reply
}
