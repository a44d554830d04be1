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

// OrderEvent is an ORDER_PLACED from /knshop/orders about order o1, with
// id and data as given (any JSON: a test of what carries events, not of
// the event's schema).
func OrderEvent(t testing.TB, id string, data any) event.Event {
	t.Helper()
	e := event.New()
	e.SetID(id)
	e.SetType("ORDER_PLACED")
	e.SetSource("/knshop/orders")
	e.SetSubject("o1")
	if err := e.SetData(event.ApplicationJSON, data); err != nil {
		t.Fatal(err)
	}
	return e
}
