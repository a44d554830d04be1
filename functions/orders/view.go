package orders

import (
	"time"

	"github.com/knshop/knshop/lib/deliverystore"
	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/money"
	"github.com/knshop/knshop/lib/orderstore"
	"github.com/knshop/knshop/lib/paymentstore"
)

// orderView is an order as the API shows it (the OpenAPI schema Order): the
// store's row without what the API does not show (the payment method, the
// customer snapshot, the version and re-drive counters).
type orderView struct {
	ID              string             `json:"id"`
	CustomerID      string             `json:"customerId"`
	Status          orderstore.Status  `json:"status"`
	Items           []itemView         `json:"items"`
	Total           money.Money        `json:"total"`
	ShippingAddress events.Address     `json:"shippingAddress"`
	Payment         *paymentView       `json:"payment"`
	Delivery        *deliveryView      `json:"delivery"`
	CancelReason    *string            `json:"cancelReason"`
	Deadline        *time.Time         `json:"deadline"`
	History         []historyEntryView `json:"history"`
	CreatedAt       time.Time          `json:"createdAt"`
	UpdatedAt       time.Time          `json:"updatedAt"`
}

type itemView struct {
	ProductID string      `json:"productId"`
	Name      string      `json:"name"`
	Quantity  int64       `json:"quantity"`
	UnitPrice money.Money `json:"unitPrice"`
}

type paymentView struct {
	ID     string              `json:"id"`
	Status paymentstore.Status `json:"status"`
}

type deliveryView struct {
	ID             string               `json:"id"`
	Status         deliverystore.Status `json:"status"`
	TrackingNumber string               `json:"trackingNumber,omitempty"`
}

type historyEntryView struct {
	Status orderstore.Status `json:"status"`
	At     time.Time         `json:"at"`
}

func viewOf(o orderstore.Order) orderView {
	v := orderView{
		ID: o.ID, CustomerID: o.CustomerID, Status: o.Status, Items: make([]itemView, 0, len(o.Items)),
		Total: o.Total, ShippingAddress: o.ShippingAddress, CancelReason: o.CancelReason, Deadline: o.Deadline,
		History: make([]historyEntryView, 0, len(o.History)), CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt,
	}
	for _, it := range o.Items {
		v.Items = append(v.Items, itemView{ProductID: it.ProductID, Name: it.Name, Quantity: it.Quantity, UnitPrice: it.UnitPrice})
	}
	if p := o.Payment; p != nil {
		v.Payment = &paymentView{ID: p.ID, Status: p.Status}
	}
	if d := o.Delivery; d != nil {
		v.Delivery = &deliveryView{ID: d.ID, Status: d.Status, TrackingNumber: d.TrackingNumber}
	}
	for _, h := range o.History {
		v.History = append(v.History, historyEntryView{Status: h.Status, At: h.At})
	}
	return v
}
