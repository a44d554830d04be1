// Package functions is the registry of every knshop function: the name a
// Knative Service runs it under (FUNCTION / K_SERVICE) and its constructor.
// Commands and the root function import it; no function package does.
package functions

import (
	"github.com/knshop/knshop/functions/cart"
	"github.com/knshop/knshop/functions/deliveries"
	"github.com/knshop/knshop/functions/orders"
	releasestock "github.com/knshop/knshop/functions/release-stock"
	reservestock "github.com/knshop/knshop/functions/reserve-stock"
	startdelivery "github.com/knshop/knshop/functions/start-delivery"
)

// Constructor builds a fresh, unstarted instance of a function: an HTTP
// function (Handle(http.ResponseWriter, *http.Request)) or an event function
// (Handle(context.Context, event.Event) (*event.Event, error)).
type Constructor func() any

// All maps each function's name to its constructor. Add one line per function.
var All = map[string]Constructor{
	"cart":           func() any { return cart.New() },
	"deliveries":     func() any { return deliveries.New() },
	"orders":         func() any { return orders.New() },
	"release-stock":  func() any { return releasestock.New() },
	"reserve-stock":  func() any { return reservestock.New() },
	"start-delivery": func() any { return startdelivery.New() },
}
