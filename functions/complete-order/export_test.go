package completeorder

import (
	"context"

	"github.com/knshop/knshop/lib/orderstore"
)

// Stock is the stock interface, for tests.
type Stock = interface {
	SettleOrder(ctx context.Context, orderID string) (int64, error)
}

// Use starts f on the given stores, for tests that name their databases.
func (f *Function) Use(orders *orderstore.Store, s Stock) { f.use(orders, s) }
