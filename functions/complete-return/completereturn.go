// Package completereturn is the complete-return function: on a
// PAYMENT_REFUNDED that carries a returnId (refund-return's) the return
// becomes REFUNDED with the gateway's refund id. A PAYMENT_REFUNDED without
// one (a cancelled order's refund) is not about a return: it is
// acknowledged and ignored.
package completereturn

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/fn"
	"github.com/knshop/knshop/lib/orderstore"
)

// Name is the function's name.
const Name = "complete-return"

// ErrNotReceived: a refund for a return that was never received; retrying
// cannot change it.
var ErrNotReceived = errors.New("complete-return: the return was not received")

// New returns an unstarted complete-return: it opens the orders database,
// where returns live.
func New() *fn.Reaction[*orderstore.Store] { return fn.On(Name, orderstore.OpenFrom, complete) }

// complete marks the refunded return REFUNDED, once.
func complete(ctx context.Context, s *orderstore.Store, d events.PaymentRefundedData) (*event.Event, error) {
	if d.ReturnID == "" {
		return nil, nil
	}
	log := fn.Logger(ctx).With("return_id", d.ReturnID, "order_id", d.OrderID)
	a, err := s.AdvanceReturn(ctx, d.ReturnID, orderstore.ReturnChange{
		To: orderstore.ReturnRefunded, RefundID: d.RefundID, At: time.Now(),
	}, Name)
	if err != nil {
		return nil, fn.PermanentIf(fmt.Errorf("completereturn: %w", err), orderstore.ErrNotFound)
	}
	if a.Outcome == orderstore.Refused {
		return nil, fn.Permanent(fmt.Errorf("%w: return %s is %s", ErrNotReceived, d.ReturnID, a.Return.Status))
	}
	log.InfoContext(ctx, "return refunded", "refund_id", d.RefundID, "outcome", a.Outcome.String())
	return nil, nil
}
