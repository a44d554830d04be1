package returns

import (
	"time"

	"github.com/knshop/knshop/lib/money"
	"github.com/knshop/knshop/lib/orderstore"
)

// returnView is a return as the API shows it (the OpenAPI schema Return).
type returnView struct {
	ID           string                  `json:"id"`
	OrderID      string                  `json:"orderId"`
	CustomerID   string                  `json:"customerId"`
	Status       orderstore.ReturnStatus `json:"status"`
	Items        []itemView              `json:"items"`
	Amount       money.Money             `json:"amount"`
	Reason       string                  `json:"reason"`
	RejectReason *string                 `json:"rejectReason"`
	Refund       *refundView             `json:"refund"`
	History      []historyView           `json:"history"`
	CreatedAt    time.Time               `json:"createdAt"`
	UpdatedAt    time.Time               `json:"updatedAt"`
}

type itemView struct {
	ProductID string      `json:"productId"`
	Quantity  int64       `json:"quantity"`
	UnitPrice money.Money `json:"unitPrice"`
}

// refundView is the return's refund once made: the gateway's refund id.
type refundView struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

// RefundSucceeded is the status of a return's refund once it is made.
const RefundSucceeded = "SUCCEEDED"

type historyView struct {
	Status orderstore.ReturnStatus `json:"status"`
	At     time.Time               `json:"at"`
}

func viewOf(r orderstore.Return) returnView {
	v := returnView{
		ID: r.ID, OrderID: r.OrderID, CustomerID: r.CustomerID, Status: r.Status, Amount: r.Amount, Reason: r.Reason,
		Items: make([]itemView, 0, len(r.Items)), History: make([]historyView, 0, len(r.History)),
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	for _, it := range r.Items {
		v.Items = append(v.Items, itemView{ProductID: it.ProductID, Quantity: it.Quantity, UnitPrice: it.UnitPrice})
	}
	if r.RejectReason != "" {
		v.RejectReason = &r.RejectReason
	}
	if r.RefundID != "" {
		v.Refund = &refundView{ID: r.RefundID, Status: RefundSucceeded}
	}
	for _, h := range r.History {
		v.History = append(v.History, historyView{Status: h.Status, At: h.At})
	}
	return v
}
