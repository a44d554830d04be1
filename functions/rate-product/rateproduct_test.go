package rateproduct_test

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/events/eventstest"

	"github.com/cloudevents/sdk-go/v2/event"

	rateproduct "github.com/knshop/knshop/functions/rate-product"
	"github.com/knshop/knshop/lib/catalog/catalogtest"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/storetest"
)

// history is what the reviews function would emit for one product: for each
// review an add, some edits and hides, and maybe a delete, with the final
// state the rating must reflect.
func history(t *testing.T, rng *rand.Rand, product string, reviews int) (evs []event.Event, want float64, count int64) {
	t.Helper()
	at := time.Now().UTC()
	mk := func(d events.Data) event.Event {
		e := eventstest.Build(t, d)
		return e
	}
	var sum int64
	for range reviews {
		id, rating, visible, rev := ids.New(), rng.Int64N(5)+1, true, int64(1)
		evs = append(evs, mk(events.ReviewAddedData{ReviewID: id, ProductID: product, AuthorID: ids.New(), Rating: rating, Revision: 1, AddedAt: at}))
		for range rng.IntN(4) {
			rev++
			if rng.IntN(4) == 0 {
				visible = false // an admin hides it
			} else {
				rating = rng.Int64N(5) + 1
			}
			evs = append(evs, mk(events.ReviewUpdatedData{ReviewID: id, ProductID: product, Rating: rating, Visible: visible, Revision: rev, UpdatedAt: at}))
		}
		if rng.IntN(4) == 0 {
			evs = append(evs, mk(events.ReviewDeletedData{ReviewID: id, ProductID: product, DeletedAt: at}))
			continue
		}
		if visible {
			sum += rating
			count++
		}
	}
	if count > 0 {
		want = math.Round(float64(sum)/float64(count)*100) / 100
	}
	return evs, want, count
}

// Whatever order the events arrive in, however often, and however many at
// once, the rating is the average of the visible reviews.
func TestRatingIsOrderIndependent(t *testing.T) {
	db := catalogtest.New(t)
	h := db.Start(t, rateproduct.New(), nil)
	rng := rand.New(rand.NewPCG(7, 16))
	for round := range 6 {
		product := catalogtest.AddProduct(t, db.Store, 1)
		evs, want, count := history(t, rng, product, 6)
		// Duplicates, then a shuffle.
		for _, e := range evs {
			if rng.IntN(3) == 0 {
				evs = append(evs, e)
			}
		}
		rng.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
		// A 500 is retried, as the Broker does.
		deliver := func(e event.Event) {
			code := 0
			for range 10 {
				if code, _ = storetest.Deliver(t, h, e); code != 500 {
					break
				}
			}
			if code != 204 {
				t.Errorf("status %d for %s", code, e.Type())
			}
		}
		if round%2 == 1 { // concurrently
			var wg sync.WaitGroup
			for _, e := range evs {
				wg.Go(func() { deliver(e) })
			}
			wg.Wait()
		} else {
			for _, e := range evs {
				deliver(e)
			}
		}
		p, err := db.Store.Get(t.Context(), product)
		if err != nil {
			t.Fatal(err)
		}
		if p.Rating.Average != want || p.Rating.Count != count {
			t.Fatalf("round %d: rating %+v, want %.2f over %d", round, p.Rating, want, count)
		}
	}
}

func TestNotAReviewEvent(t *testing.T) {
	db := catalogtest.New(t)
	h := db.Start(t, rateproduct.New(), nil)
	e := eventstest.Build(t, events.UserDeletedData{UserID: ids.New(), DeletedAt: time.Now()})
	if code, _ := storetest.Deliver(t, h, e); code != 400 {
		t.Fatalf("status %d, want 400", code)
	}
}
