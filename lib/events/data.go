package events

import (
	"time"

	"github.com/knshop/knshop/lib/money"
)

// Data is the payload of one event type. It names its type, the aggregate
// the event is about (the `subject`) and the key that keeps related events
// in order (the `partitionkey`).
type Data interface {
	EventType() Type
	EventSubject() string
	EventPartitionKey() string
}

// Address is a postal address as it travels in events.
type Address struct {
	ID         string `json:"id,omitempty"`
	Label      string `json:"label,omitempty"`
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city"`
	PostalCode string `json:"postalCode"`
	Country    string `json:"country"`
	IsDefault  bool   `json:"isDefault,omitempty"`
}

// Item is a product and a quantity.
type Item struct {
	ProductID string `json:"productId"`
	Quantity  int64  `json:"quantity" schema:"min=1,max=10000"`
}

// PricedItem is an ordered item with the unit price it was ordered at.
type PricedItem struct {
	ProductID string      `json:"productId"`
	Name      string      `json:"name,omitempty"`
	Quantity  int64       `json:"quantity" schema:"min=1,max=10000"`
	UnitPrice money.Money `json:"unitPrice"`
}

// Shortage is an item reserve-stock could not reserve in full.
type Shortage struct {
	ProductID string `json:"productId"`
	Requested int64  `json:"requested" schema:"min=1,max=10000"`
	Available int64  `json:"available" schema:"min=0"`
}

// Partner is the delivery partner that carries an order.
type Partner struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// UserRegisteredData is the data of USER_REGISTERED.
type UserRegisteredData struct {
	UserID       string    `json:"userId"`
	Email        string    `json:"email"`
	Name         string    `json:"name"`
	Role         string    `json:"role" schema:"enum=customer|seller|courier|admin"`
	RegisteredAt time.Time `json:"registeredAt"`
}

// UserUpdatedData is the data of USER_UPDATED: the whole updated profile.
type UserUpdatedData struct {
	UserID      string         `json:"userId"`
	Email       string         `json:"email"`
	Name        string         `json:"name"`
	Role        string         `json:"role,omitempty"`
	Addresses   []Address      `json:"addresses"`
	Preferences map[string]any `json:"preferences"`
	Version     int64          `json:"version,omitempty"`
	UpdatedAt   time.Time      `json:"updatedAt"`
}

// UserDeletedData is the data of USER_DELETED.
type UserDeletedData struct {
	UserID    string    `json:"userId"`
	DeletedAt time.Time `json:"deletedAt"`
}

// ProductAddedData is the data of PRODUCT_ADDED.
type ProductAddedData struct {
	ProductID   string      `json:"productId"`
	SellerID    string      `json:"sellerId"`
	Name        string      `json:"name"`
	Description string      `json:"description" schema:"empty"`
	Category    string      `json:"category"`
	Price       money.Money `json:"price"`
	Stock       int64       `json:"stock" schema:"min=0"`
	Version     int64       `json:"version" schema:"min=1"`
	AddedAt     time.Time   `json:"addedAt"`
}

// ProductUpdatedData is the data of PRODUCT_UPDATED. Changed names the fields
// this update changed; the other fields carry the product as it now is, so a
// read model can apply the newest version alone.
type ProductUpdatedData struct {
	ProductID   string      `json:"productId"`
	SellerID    string      `json:"sellerId"`
	Changed     []string    `json:"changed"`
	Name        string      `json:"name"`
	Description string      `json:"description" schema:"empty"`
	Category    string      `json:"category"`
	Price       money.Money `json:"price"`
	Stock       int64       `json:"stock" schema:"min=0"`
	Version     int64       `json:"version" schema:"min=1"`
	UpdatedAt   time.Time   `json:"updatedAt"`
}

// ProductDeletedData is the data of PRODUCT_DELETED.
type ProductDeletedData struct {
	ProductID string    `json:"productId"`
	Version   int64     `json:"version" schema:"min=1"`
	DeletedAt time.Time `json:"deletedAt"`
}

// OrderPlacedData is the data of ORDER_PLACED.
type OrderPlacedData struct {
	OrderID         string       `json:"orderId"`
	CustomerID      string       `json:"customerId"`
	Items           []PricedItem `json:"items" schema:"min=1"`
	Total           money.Money  `json:"total"`
	ShippingAddress Address      `json:"shippingAddress"`
	PaymentMethod   string       `json:"paymentMethod"`
	PlacedAt        time.Time    `json:"placedAt"`
}

// Cancellation reasons of ORDER_CANCELLED.
const (
	ReasonCustomerRequest = "customer_request"
	ReasonOutOfStock      = "out_of_stock"
	ReasonPaymentFailed   = "payment_failed"
	ReasonUserDeleted     = "user_deleted"
	ReasonExpired         = "expired"
)

// OrderCancelledData is the data of ORDER_CANCELLED.
type OrderCancelledData struct {
	OrderID     string    `json:"orderId"`
	CustomerID  string    `json:"customerId"`
	Reason      string    `json:"reason" schema:"enum=customer_request|out_of_stock|payment_failed|user_deleted|expired"`
	CancelledAt time.Time `json:"cancelledAt"`
}

// OrderCompletedData is the data of ORDER_COMPLETED.
//
// Items (what was delivered) and CustomerName were added for
// record-purchase, which remembers who bought what so reviews can check
// buyers; both are optional in the schema, so an older ORDER_COMPLETED
// still reads (and records no purchase).
type OrderCompletedData struct {
	OrderID      string    `json:"orderId"`
	CustomerID   string    `json:"customerId"`
	CustomerName string    `json:"customerName,omitempty" schema:"empty"`
	Items        []Item    `json:"items,omitempty"`
	CompletedAt  time.Time `json:"completedAt"`
}

// StockReservedData is the data of STOCK_RESERVED. Besides the reserved
// items it carries, from ORDER_PLACED, what the next saga steps need
// (customer, total, payment method, address), since they own no order data.
type StockReservedData struct {
	OrderID         string      `json:"orderId"`
	CustomerID      string      `json:"customerId"`
	Items           []Item      `json:"items" schema:"min=1"`
	Total           money.Money `json:"total"`
	PaymentMethod   string      `json:"paymentMethod"`
	ShippingAddress Address     `json:"shippingAddress"`
}

// StockRejectedData is the data of STOCK_REJECTED.
type StockRejectedData struct {
	OrderID    string     `json:"orderId"`
	CustomerID string     `json:"customerId,omitempty"`
	Shortages  []Shortage `json:"shortages" schema:"min=1"`
}

// PaymentAddedData is the data of PAYMENT_ADDED.
type PaymentAddedData struct {
	PaymentID  string      `json:"paymentId"`
	OrderID    string      `json:"orderId"`
	CustomerID string      `json:"customerId,omitempty"`
	Amount     money.Money `json:"amount"`
	Method     string      `json:"method"`
	Gateway    string      `json:"gateway"`
	CreatedAt  time.Time   `json:"createdAt"`
}

// PaymentSuccessData is the data of PAYMENT_SUCCESS. It carries the
// shipping address along for start-delivery.
type PaymentSuccessData struct {
	PaymentID       string      `json:"paymentId"`
	OrderID         string      `json:"orderId"`
	CustomerID      string      `json:"customerId,omitempty"`
	TransactionID   string      `json:"transactionId"`
	Amount          money.Money `json:"amount"`
	Method          string      `json:"method"`
	ShippingAddress *Address    `json:"shippingAddress,omitempty"`
	PaidAt          time.Time   `json:"paidAt"`
}

// PaymentFailureData is the data of PAYMENT_FAILURE.
type PaymentFailureData struct {
	PaymentID  string      `json:"paymentId"`
	OrderID    string      `json:"orderId"`
	CustomerID string      `json:"customerId,omitempty"`
	Amount     money.Money `json:"amount"`
	Method     string      `json:"method"`
	Code       string      `json:"code"`
	Reason     string      `json:"reason" schema:"empty"`
	FailedAt   time.Time   `json:"failedAt"`
}

// PaymentRefundedData is the data of PAYMENT_REFUNDED.
type PaymentRefundedData struct {
	PaymentID  string      `json:"paymentId"`
	OrderID    string      `json:"orderId"`
	CustomerID string      `json:"customerId,omitempty"`
	Amount     money.Money `json:"amount"`
	RefundID   string      `json:"refundId"`
	RefundedAt time.Time   `json:"refundedAt"`
	// ReturnID is set when the refund is a return's (refund-return): a
	// partial refund of Amount.
	ReturnID string `json:"returnId,omitempty"`
}

// DeliveryStartedData is the data of DELIVERY_STARTED.
type DeliveryStartedData struct {
	DeliveryID string    `json:"deliveryId"`
	OrderID    string    `json:"orderId"`
	Address    Address   `json:"address"`
	Partner    Partner   `json:"partner"`
	StartedAt  time.Time `json:"startedAt"`
}

// DeliveryCourieredPartnerData is the data of DELIVERY_COURIERED_PARTNER.
type DeliveryCourieredPartnerData struct {
	DeliveryID     string    `json:"deliveryId"`
	OrderID        string    `json:"orderId"`
	Partner        Partner   `json:"partner"`
	TrackingNumber string    `json:"trackingNumber"`
	CourieredAt    time.Time `json:"courieredAt"`
}

// DeliveryCompletedData is the data of DELIVERY_COMPLETED.
type DeliveryCompletedData struct {
	DeliveryID  string    `json:"deliveryId"`
	OrderID     string    `json:"orderId"`
	CompletedAt time.Time `json:"completedAt"`
}

// ReturnRequestedData is the data of RETURN_REQUESTED.
type ReturnRequestedData struct {
	ReturnID    string       `json:"returnId"`
	OrderID     string       `json:"orderId"`
	CustomerID  string       `json:"customerId"`
	Items       []PricedItem `json:"items" schema:"min=1"`
	Amount      money.Money  `json:"amount"`
	Reason      string       `json:"reason"`
	RequestedAt time.Time    `json:"requestedAt"`
}

// ReturnReceivedData is the data of RETURN_RECEIVED: the units are back
// and their amount is to be refunded.
type ReturnReceivedData struct {
	ReturnID   string      `json:"returnId"`
	OrderID    string      `json:"orderId"`
	CustomerID string      `json:"customerId"`
	Items      []Item      `json:"items" schema:"min=1"`
	Amount     money.Money `json:"amount"`
	ReceivedAt time.Time   `json:"receivedAt"`
}

// ReturnRejectedData is the data of RETURN_REJECTED.
type ReturnRejectedData struct {
	ReturnID   string    `json:"returnId"`
	OrderID    string    `json:"orderId"`
	Reason     string    `json:"reason"`
	RejectedAt time.Time `json:"rejectedAt"`
}

// ReviewAddedData is the data of REVIEW_ADDED. Revision counts the review's
// changes (1 here): rate-product keeps, per review, the highest revision it
// has seen, so events arriving out of order cannot undo a newer one.
type ReviewAddedData struct {
	ReviewID  string    `json:"reviewId"`
	ProductID string    `json:"productId"`
	AuthorID  string    `json:"authorId"`
	Rating    int64     `json:"rating" schema:"min=1,max=5"`
	Revision  int64     `json:"revision" schema:"min=1"`
	AddedAt   time.Time `json:"addedAt"`
}

// ReviewUpdatedData is the data of REVIEW_UPDATED: the review's rating and
// whether it counts (an admin hid it), as of Revision.
type ReviewUpdatedData struct {
	ReviewID  string    `json:"reviewId"`
	ProductID string    `json:"productId"`
	Rating    int64     `json:"rating" schema:"min=1,max=5"`
	Visible   bool      `json:"visible"`
	Revision  int64     `json:"revision" schema:"min=1"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// ReviewDeletedData is the data of REVIEW_DELETED: final, whatever comes
// after it.
type ReviewDeletedData struct {
	ReviewID  string    `json:"reviewId"`
	ProductID string    `json:"productId"`
	DeletedAt time.Time `json:"deletedAt"`
}
