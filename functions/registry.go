// Package functions is the registry of every knshop function: the name a
// Knative Service runs it under (FUNCTION / K_SERVICE) and its constructor.
// Commands and the root function import it; no function package does.
package functions

import (
	"github.com/knshop/knshop/functions/admin"
	"github.com/knshop/knshop/functions/auth"
	canceldelivery "github.com/knshop/knshop/functions/cancel-delivery"
	cancelorder "github.com/knshop/knshop/functions/cancel-order"
	canceluserorders "github.com/knshop/knshop/functions/cancel-user-orders"
	"github.com/knshop/knshop/functions/cart"
	chargepayment "github.com/knshop/knshop/functions/charge-payment"
	completeorder "github.com/knshop/knshop/functions/complete-order"
	completereturn "github.com/knshop/knshop/functions/complete-return"
	confirmorder "github.com/knshop/knshop/functions/confirm-order"
	createprofile "github.com/knshop/knshop/functions/create-profile"
	deadletter "github.com/knshop/knshop/functions/dead-letter"
	"github.com/knshop/knshop/functions/deliveries"
	"github.com/knshop/knshop/functions/orders"
	"github.com/knshop/knshop/functions/payments"
	"github.com/knshop/knshop/functions/products"
	purgecredentials "github.com/knshop/knshop/functions/purge-credentials"
	rateproduct "github.com/knshop/knshop/functions/rate-product"
	reconcileorders "github.com/knshop/knshop/functions/reconcile-orders"
	recordpurchase "github.com/knshop/knshop/functions/record-purchase"
	refundpayment "github.com/knshop/knshop/functions/refund-payment"
	refundreturn "github.com/knshop/knshop/functions/refund-return"
	relayoutbox "github.com/knshop/knshop/functions/relay-outbox"
	releasestock "github.com/knshop/knshop/functions/release-stock"
	reservestock "github.com/knshop/knshop/functions/reserve-stock"
	restockreturn "github.com/knshop/knshop/functions/restock-return"
	"github.com/knshop/knshop/functions/returns"
	"github.com/knshop/knshop/functions/reviews"
	startdelivery "github.com/knshop/knshop/functions/start-delivery"
	"github.com/knshop/knshop/functions/storefront"
	synccatalog "github.com/knshop/knshop/functions/sync-catalog"
	synccustomer "github.com/knshop/knshop/functions/sync-customer"
	"github.com/knshop/knshop/functions/timeline"
	trackorder "github.com/knshop/knshop/functions/track-order"
	"github.com/knshop/knshop/functions/users"
)

// Constructor builds a fresh, unstarted instance of a function: an HTTP
// function (Handle(http.ResponseWriter, *http.Request)) or an event function
// (Handle(context.Context, event.Event) (*event.Event, error)).
type Constructor func() any

// All maps each function's name to its constructor. Add one line per function.
var All = map[string]Constructor{
	"complete-order":     func() any { return completeorder.New() },
	"cancel-user-orders": func() any { return canceluserorders.New() },
	"track-order":        func() any { return trackorder.New() },
	"confirm-order":      func() any { return confirmorder.New() },
	"admin":              func() any { return admin.New() },
	"auth":               func() any { return auth.New() },
	"cancel-delivery":    func() any { return canceldelivery.New() },
	"cancel-order":       func() any { return cancelorder.New() },
	"cart":               func() any { return cart.New() },
	"create-profile":     func() any { return createprofile.New() },
	"dead-letter":        func() any { return deadletter.New() },
	"deliveries":         func() any { return deliveries.New() },
	"orders":             func() any { return orders.New() },
	"products":           func() any { return products.New() },
	"purge-credentials":  func() any { return purgecredentials.New() },
	"relay-outbox":       func() any { return relayoutbox.New() },
	"reconcile-orders":   func() any { return reconcileorders.New() },
	"timeline":           func() any { return timeline.New() },
	"release-stock":      func() any { return releasestock.New() },
	"reserve-stock":      func() any { return reservestock.New() },
	"start-delivery":     func() any { return startdelivery.New() },
	"sync-catalog":       func() any { return synccatalog.New() },
	"sync-customer":      func() any { return synccustomer.New() },
	"users":              func() any { return users.New() },
	"charge-payment":     func() any { return chargepayment.New() },
	"payments":           func() any { return payments.New() },
	"refund-payment":     func() any { return refundpayment.New() },
	"returns":            func() any { return returns.New() },
	"restock-return":     func() any { return restockreturn.New() },
	"refund-return":      func() any { return refundreturn.New() },
	"complete-return":    func() any { return completereturn.New() },
	"reviews":            func() any { return reviews.New() },
	"record-purchase":    func() any { return recordpurchase.New() },
	"rate-product":       func() any { return rateproduct.New() },
	"storefront":         func() any { return storefront.New() },
}
