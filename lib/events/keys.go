package events

// Each data type names its event type, its subject and its partition key:
// USER_* by user, PRODUCT_* and REVIEW_* by product, everything of the order
// saga and RETURN_* by order.

func (UserRegisteredData) EventType() Type             { return UserRegistered }
func (d UserRegisteredData) EventSubject() string      { return d.UserID }
func (d UserRegisteredData) EventPartitionKey() string { return d.UserID }

func (UserUpdatedData) EventType() Type             { return UserUpdated }
func (d UserUpdatedData) EventSubject() string      { return d.UserID }
func (d UserUpdatedData) EventPartitionKey() string { return d.UserID }

func (UserDeletedData) EventType() Type             { return UserDeleted }
func (d UserDeletedData) EventSubject() string      { return d.UserID }
func (d UserDeletedData) EventPartitionKey() string { return d.UserID }

func (ProductAddedData) EventType() Type             { return ProductAdded }
func (d ProductAddedData) EventSubject() string      { return d.ProductID }
func (d ProductAddedData) EventPartitionKey() string { return d.ProductID }

func (ProductUpdatedData) EventType() Type             { return ProductUpdated }
func (d ProductUpdatedData) EventSubject() string      { return d.ProductID }
func (d ProductUpdatedData) EventPartitionKey() string { return d.ProductID }

func (ProductDeletedData) EventType() Type             { return ProductDeleted }
func (d ProductDeletedData) EventSubject() string      { return d.ProductID }
func (d ProductDeletedData) EventPartitionKey() string { return d.ProductID }

func (OrderPlacedData) EventType() Type             { return OrderPlaced }
func (d OrderPlacedData) EventSubject() string      { return d.OrderID }
func (d OrderPlacedData) EventPartitionKey() string { return d.OrderID }

func (OrderCancelledData) EventType() Type             { return OrderCancelled }
func (d OrderCancelledData) EventSubject() string      { return d.OrderID }
func (d OrderCancelledData) EventPartitionKey() string { return d.OrderID }

func (OrderCompletedData) EventType() Type             { return OrderCompleted }
func (d OrderCompletedData) EventSubject() string      { return d.OrderID }
func (d OrderCompletedData) EventPartitionKey() string { return d.OrderID }

func (StockReservedData) EventType() Type             { return StockReserved }
func (d StockReservedData) EventSubject() string      { return d.OrderID }
func (d StockReservedData) EventPartitionKey() string { return d.OrderID }

func (StockRejectedData) EventType() Type             { return StockRejected }
func (d StockRejectedData) EventSubject() string      { return d.OrderID }
func (d StockRejectedData) EventPartitionKey() string { return d.OrderID }

func (PaymentAddedData) EventType() Type             { return PaymentAdded }
func (d PaymentAddedData) EventSubject() string      { return d.PaymentID }
func (d PaymentAddedData) EventPartitionKey() string { return d.OrderID }

func (PaymentSuccessData) EventType() Type             { return PaymentSuccess }
func (d PaymentSuccessData) EventSubject() string      { return d.PaymentID }
func (d PaymentSuccessData) EventPartitionKey() string { return d.OrderID }

func (PaymentFailureData) EventType() Type             { return PaymentFailure }
func (d PaymentFailureData) EventSubject() string      { return d.PaymentID }
func (d PaymentFailureData) EventPartitionKey() string { return d.OrderID }

func (PaymentRefundedData) EventType() Type             { return PaymentRefunded }
func (d PaymentRefundedData) EventSubject() string      { return d.PaymentID }
func (d PaymentRefundedData) EventPartitionKey() string { return d.OrderID }

func (DeliveryStartedData) EventType() Type             { return DeliveryStarted }
func (d DeliveryStartedData) EventSubject() string      { return d.DeliveryID }
func (d DeliveryStartedData) EventPartitionKey() string { return d.OrderID }

func (DeliveryCourieredPartnerData) EventType() Type             { return DeliveryCourieredPartner }
func (d DeliveryCourieredPartnerData) EventSubject() string      { return d.DeliveryID }
func (d DeliveryCourieredPartnerData) EventPartitionKey() string { return d.OrderID }

func (DeliveryCompletedData) EventType() Type             { return DeliveryCompleted }
func (d DeliveryCompletedData) EventSubject() string      { return d.DeliveryID }
func (d DeliveryCompletedData) EventPartitionKey() string { return d.OrderID }

func (ReturnRequestedData) EventType() Type             { return ReturnRequested }
func (d ReturnRequestedData) EventSubject() string      { return d.ReturnID }
func (d ReturnRequestedData) EventPartitionKey() string { return d.OrderID }

func (ReturnReceivedData) EventType() Type             { return ReturnReceived }
func (d ReturnReceivedData) EventSubject() string      { return d.ReturnID }
func (d ReturnReceivedData) EventPartitionKey() string { return d.OrderID }

func (ReturnRejectedData) EventType() Type             { return ReturnRejected }
func (d ReturnRejectedData) EventSubject() string      { return d.ReturnID }
func (d ReturnRejectedData) EventPartitionKey() string { return d.OrderID }

func (ReviewAddedData) EventType() Type             { return ReviewAdded }
func (d ReviewAddedData) EventSubject() string      { return d.ReviewID }
func (d ReviewAddedData) EventPartitionKey() string { return d.ProductID }

func (ReviewUpdatedData) EventType() Type             { return ReviewUpdated }
func (d ReviewUpdatedData) EventSubject() string      { return d.ReviewID }
func (d ReviewUpdatedData) EventPartitionKey() string { return d.ProductID }

func (ReviewDeletedData) EventType() Type             { return ReviewDeleted }
func (d ReviewDeletedData) EventSubject() string      { return d.ReviewID }
func (d ReviewDeletedData) EventPartitionKey() string { return d.ProductID }
