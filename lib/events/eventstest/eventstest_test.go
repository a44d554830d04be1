package eventstest

import (
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/events"
)

// builders is every builder by the type it builds.
var builders = map[events.Type]func(testing.TB) event.Event{
	events.UserRegistered:           func(t testing.TB) event.Event { return UserRegistered(t) },
	events.UserUpdated:              func(t testing.TB) event.Event { return UserUpdated(t) },
	events.UserDeleted:              func(t testing.TB) event.Event { return UserDeleted(t) },
	events.ProductAdded:             func(t testing.TB) event.Event { return ProductAdded(t) },
	events.ProductUpdated:           func(t testing.TB) event.Event { return ProductUpdated(t) },
	events.ProductDeleted:           func(t testing.TB) event.Event { return ProductDeleted(t) },
	events.OrderPlaced:              func(t testing.TB) event.Event { return OrderPlaced(t) },
	events.OrderCancelled:           func(t testing.TB) event.Event { return OrderCancelled(t) },
	events.OrderCompleted:           func(t testing.TB) event.Event { return OrderCompleted(t) },
	events.StockReserved:            func(t testing.TB) event.Event { return StockReserved(t) },
	events.StockRejected:            func(t testing.TB) event.Event { return StockRejected(t) },
	events.PaymentAdded:             func(t testing.TB) event.Event { return PaymentAdded(t) },
	events.PaymentSuccess:           func(t testing.TB) event.Event { return PaymentSuccess(t) },
	events.PaymentFailure:           func(t testing.TB) event.Event { return PaymentFailure(t) },
	events.PaymentRefunded:          func(t testing.TB) event.Event { return PaymentRefunded(t) },
	events.DeliveryStarted:          func(t testing.TB) event.Event { return DeliveryStarted(t) },
	events.DeliveryCourieredPartner: func(t testing.TB) event.Event { return DeliveryCourieredPartner(t) },
	events.DeliveryCompleted:        func(t testing.TB) event.Event { return DeliveryCompleted(t) },
	events.ReturnRequested:          func(t testing.TB) event.Event { return ReturnRequested(t) },
	events.ReturnReceived:           func(t testing.TB) event.Event { return ReturnReceived(t) },
	events.ReturnRejected:           func(t testing.TB) event.Event { return ReturnRejected(t) },
	events.ReviewAdded:              func(t testing.TB) event.Event { return ReviewAdded(t) },
	events.ReviewUpdated:            func(t testing.TB) event.Event { return ReviewUpdated(t) },
	events.ReviewDeleted:            func(t testing.TB) event.Event { return ReviewDeleted(t) },
}

// Every type of the catalogue has a builder and a producer, and what the
// builder makes is a valid event of that type from that producer.
func TestEveryTypeHasABuilder(t *testing.T) {
	for _, typ := range events.Types() {
		b, ok := builders[typ]
		if !ok {
			t.Errorf("no builder of %s", typ)
			continue
		}
		e := b(t)
		if events.Type(e.Type()) != typ || e.Source() != "/knshop/"+Producers[typ] || Producers[typ] == "" {
			t.Errorf("%s builder made %s from %s", typ, e.Type(), e.Source())
		}
		if err := e.Validate(); err != nil {
			t.Errorf("%s: %v", typ, err)
		}
	}
	if len(builders) != len(events.Types()) || len(Producers) != len(events.Types()) {
		t.Errorf("%d builders and %d producers for %d types", len(builders), len(Producers), len(events.Types()))
	}
}

func TestEditChangesTheDefault(t *testing.T) {
	e := OrderCancelled(t, func(d *events.OrderCancelledData) { d.OrderID, d.Reason = "o-1", events.ReasonExpired })
	var d events.OrderCancelledData
	if err := events.Decode(e, &d); err != nil || d.OrderID != "o-1" || d.Reason != events.ReasonExpired || e.Subject() != "o-1" {
		t.Fatalf("decoded %+v, %v (subject %s)", d, err, e.Subject())
	}
}
