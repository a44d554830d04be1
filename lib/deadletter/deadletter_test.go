package deadletter

import (
	"context"
	"encoding/base64"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/sqlstore"
	"github.com/knshop/knshop/lib/storetest"
)

func failed(t *testing.T, id, dest string) event.Event {
	t.Helper()
	e := event.New()
	e.SetID(id)
	e.SetType("PAYMENT_SUCCESS")
	e.SetSource("/knshop/charge-payment")
	if err := e.SetData(event.ApplicationJSON, map[string]any{"orderId": "o-1"}); err != nil {
		t.Fatal(err)
	}
	e.SetExtension("partitionkey", "o-1")
	e.SetExtension(ExtErrorDest, dest)
	e.SetExtension(ExtErrorCode, "500")
	e.SetExtension(ExtErrorData, base64.StdEncoding.EncodeToString([]byte("transient failure")))
	return e
}

func TestLetterFrom(t *testing.T) {
	plain := failed(t, "e-1", "http://start-delivery")
	plain.SetExtension(ExtErrorData, "not base64!")
	noCode := failed(t, "e-1", "http://start-delivery")
	noCode.SetExtension(ExtErrorCode, nil)
	cases := map[string]struct {
		e             event.Event
		wantCode      int
		wantData      string
		sameIDAsFirst bool
	}{
		"knative extensions are decoded":       {failed(t, "e-1", "http://start-delivery"), 500, "transient failure", true},
		"data that is not base64 is kept":      {plain, 500, "not base64!", true},
		"no code is zero":                      {noCode, 0, "transient failure", true},
		"another subscriber is another letter": {failed(t, "e-1", "http://confirm-order"), 500, "transient failure", false},
	}
	first := LetterFrom(failed(t, "e-1", "http://start-delivery"), time.Now()).ID
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			l := LetterFrom(tc.e, time.Now())
			if l.ErrorCode != tc.wantCode || l.ErrorData != tc.wantData || (l.ID == first) != tc.sameIDAsFirst {
				t.Fatalf("letter = %+v", l)
			}
			orig := l.Original()
			for _, k := range []string{ExtErrorDest, ExtErrorCode, ExtErrorData} {
				if _, ok := orig.Extensions()[k]; ok {
					t.Fatalf("Original keeps %s", k)
				}
			}
			if orig.ID() != tc.e.ID() || orig.Extensions()["partitionkey"] != "o-1" || string(orig.Data()) != string(tc.e.Data()) {
				t.Fatalf("Original = %v", orig)
			}
			if _, ok := tc.e.Extensions()[ExtErrorDest]; !ok {
				t.Fatal("Original changed the stored event")
			}
		})
	}
}

func open(t *testing.T, sc sqlstore.Config) *Store {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), sc, Migrations)
	if err != nil {
		t.Fatal(err)
	}
	return New(db)
}

func TestStore(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, engine storetest.Engine) {
		s := open(t, engine.Config(t, "operations"))
		ctx := context.Background()
		at := time.Now().UTC().Truncate(time.Millisecond)
		l := LetterFrom(failed(t, "e-1", "http://start-delivery"), at)

		t.Run("a new letter is added", func(t *testing.T) {
			if added, err := s.Add(ctx, l); err != nil || !added {
				t.Fatalf("Add = %v, %v", added, err)
			}
		})
		t.Run("a repeated arrival changes nothing", func(t *testing.T) {
			if added, err := s.Add(ctx, LetterFrom(failed(t, "e-1", "http://start-delivery"), at.Add(time.Second))); err != nil || added {
				t.Fatalf("Add = %v, %v", added, err)
			}
			got, err := s.Get(ctx, l.ID)
			if err != nil || got.Arrivals != 1 || !got.ReceivedAt.Equal(at) {
				t.Fatalf("Get = %+v, %v", got, err)
			}
		})
		t.Run("concurrent arrivals store one letter", func(t *testing.T) {
			c := LetterFrom(failed(t, "e-2", "http://start-delivery"), at.Add(2*time.Second))
			var wg sync.WaitGroup
			added := make(chan bool, 8)
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					a, err := s.Add(ctx, c)
					if err != nil {
						t.Error(err)
					}
					added <- a
				}()
			}
			wg.Wait()
			close(added)
			n := 0
			for a := range added {
				if a {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("%d arrivals said they added it, want 1", n)
			}
		})
		t.Run("list is newest first with the total", func(t *testing.T) {
			letters, total, err := s.List(ctx, 0, 10)
			if err != nil || total != 2 || len(letters) != 2 || letters[0].Event.ID() != "e-2" || letters[1].Event.ID() != "e-1" {
				t.Fatalf("List = %d letters, total %d, %v", len(letters), total, err)
			}
			if letters[1].ErrorData != "transient failure" || letters[1].ErrorCode != 500 || letters[1].ErrorDest != "http://start-delivery" {
				t.Fatalf("listed letter = %+v", letters[1])
			}
			page2, total, err := s.List(ctx, 1, 1)
			if err != nil || total != 2 || len(page2) != 1 || page2[0].Event.ID() != "e-1" {
				t.Fatalf("second page = %v, %d, %v", page2, total, err)
			}
		})
		t.Run("a replayed letter that fails again is reopened", func(t *testing.T) {
			if err := s.MarkReplayed(ctx, l.ID, at.Add(3*time.Second)); err != nil {
				t.Fatal(err)
			}
			got, err := s.Get(ctx, l.ID)
			if err != nil || got.ReplayedAt == nil {
				t.Fatalf("after MarkReplayed: %+v, %v", got, err)
			}
			if added, err := s.Add(ctx, LetterFrom(failed(t, "e-1", "http://start-delivery"), at.Add(4*time.Second))); err != nil || !added {
				t.Fatalf("Add after replay = %v, %v", added, err)
			}
			got, err = s.Get(ctx, l.ID)
			if err != nil || got.ReplayedAt != nil || got.Arrivals != 2 {
				t.Fatalf("reopened letter = %+v, %v", got, err)
			}
		})
		t.Run("unknown letters are ErrNotFound", func(t *testing.T) {
			if _, err := s.Get(ctx, "nope"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get = %v", err)
			}
			if err := s.MarkReplayed(ctx, "nope", at); !errors.Is(err, ErrNotFound) {
				t.Fatalf("MarkReplayed = %v", err)
			}
		})
	})
}
