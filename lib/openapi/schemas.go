package openapi

import (
	"github.com/knshop/knshop/lib/deliverystore"
	"github.com/knshop/knshop/lib/orderstore"
	"github.com/knshop/knshop/lib/paymentstore"
)

func ref(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }
func str() map[string]any            { return map[string]any{"type": "string"} }
func integer() map[string]any        { return map[string]any{"type": "integer"} }
func boolean() map[string]any        { return map[string]any{"type": "boolean"} }
func timestamp() map[string]any      { return map[string]any{"type": "string", "format": "date-time"} }
func arr(items any) map[string]any   { return map[string]any{"type": "array", "items": items} }
func enum(v ...string) map[string]any {
	return map[string]any{"type": "string", "enum": v}
}
func nullable(s map[string]any) map[string]any {
	return map[string]any{"oneOf": []any{s, map[string]any{"type": "null"}}}
}

// obj is a closed object: props, and the names that are required.
func obj(props map[string]any, required ...string) map[string]any {
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

func list(item string) map[string]any {
	return obj(map[string]any{"items": arr(ref(item)), "page": integer(), "limit": integer(), "total": integer()}, "items", "page", "limit", "total")
}

// The status enums come from the stores that own the states.
var (
	orderStatus    = enumOf(orderstore.Statuses)
	paymentStatus  = enumOf(paymentstore.Statuses)
	deliveryStatus = enumOf(deliverystore.Statuses)
	returnStatus   = enumOf(orderstore.ReturnStatuses)
)

// enumOf is the string enum of a store's typed states.
func enumOf[S ~string](states []S) map[string]any {
	values := make([]string, len(states))
	for i, s := range states {
		values[i] = string(s)
	}
	return enum(values...)
}

func components() map[string]any {
	address := map[string]any{
		"id": str(), "label": str(), "line1": str(), "line2": str(), "city": str(),
		"postalCode": str(), "country": str(), "isDefault": boolean(),
	}
	addressIn := map[string]any{}
	for k, v := range address {
		if k != "id" {
			addressIn[k] = v
		}
	}
	return map[string]any{
		"Problem": map[string]any{"type": "object", "required": []string{"type", "title", "status"}, "properties": map[string]any{
			"type": str(), "title": str(), "status": integer(), "detail": str(), "instance": str(),
			"errors": arr(obj(map[string]any{"field": str(), "message": str()}, "field", "message")),
		}},
		"Money":        obj(map[string]any{"amount": map[string]any{"type": "integer", "minimum": 0, "maximum": int64(10_000_000_000), "description": "minor units; a price is at most 100000000, a total at most 10000000000"}, "currency": map[string]any{"type": "string", "pattern": "^[A-Z]{3}$"}}, "amount", "currency"),
		"Address":      obj(address, "line1", "city", "postalCode", "country"),
		"AddressInput": obj(addressIn, "line1", "city", "postalCode", "country"),
		"User": obj(map[string]any{
			"id": str(), "email": str(), "name": str(), "role": enum("customer", "seller", "courier", "admin"),
			"addresses": arr(ref("Address")), "preferences": map[string]any{"type": "object"},
			"createdAt": timestamp(), "updatedAt": timestamp(),
		}, "id", "email", "name", "role"),
		"Tokens": obj(map[string]any{
			"user": ref("User"), "accessToken": str(), "refreshToken": str(),
			"tokenType": enum("Bearer"), "expiresIn": map[string]any{"type": "integer", "description": "seconds"},
		}, "user", "accessToken", "refreshToken", "tokenType", "expiresIn"),
		"JWKS": obj(map[string]any{"keys": arr(obj(map[string]any{"kty": str(), "crv": str(), "x": str(), "kid": str(), "alg": str(), "use": str()}))}, "keys"),
		"Product": obj(map[string]any{
			"id": str(), "sellerId": str(), "name": str(), "description": str(), "category": str(),
			"price": ref("Money"), "stock": map[string]any{"type": "integer", "minimum": 0, "description": "units that can still be ordered"},
			"images": arr(str()), "version": integer(), "createdAt": timestamp(), "updatedAt": timestamp(),
			"rating": obj(map[string]any{"average": map[string]any{"type": "number", "minimum": 0, "maximum": 5}, "count": integer()}, "average", "count"),
		}, "id", "sellerId", "name", "category", "price", "stock", "rating", "version"),
		"ProductList": list("Product"),
		"CartItem":    obj(map[string]any{"productId": str(), "name": str(), "quantity": integer(), "unitPrice": ref("Money")}, "productId", "quantity", "unitPrice"),
		"Cart":        obj(map[string]any{"items": arr(ref("CartItem")), "total": ref("Money")}, "items", "total"),
		"OrderItem":   obj(map[string]any{"productId": str(), "name": str(), "quantity": integer(), "unitPrice": ref("Money")}, "productId", "quantity", "unitPrice"),
		"Order": obj(map[string]any{
			"id": str(), "customerId": str(), "status": orderStatus, "items": arr(ref("OrderItem")), "total": ref("Money"),
			"shippingAddress": ref("Address"),
			"payment":         nullable(obj(map[string]any{"id": str(), "status": paymentStatus}, "id", "status")),
			"delivery":        nullable(obj(map[string]any{"id": str(), "status": deliveryStatus, "trackingNumber": str()}, "id", "status")),
			"cancelReason":    nullable(enum("customer_request", "out_of_stock", "payment_failed", "user_deleted", "expired")),
			"deadline":        nullable(timestamp()),
			"history":         arr(obj(map[string]any{"status": orderStatus, "at": timestamp()}, "status", "at")),
			"createdAt":       timestamp(), "updatedAt": timestamp(),
		}, "id", "customerId", "status", "items", "total", "history"),
		"OrderList": list("Order"),
		"Return": obj(map[string]any{
			"id": str(), "orderId": str(), "customerId": str(), "status": returnStatus,
			"items":        arr(ref("OrderItem")),
			"amount":       ref("Money"),
			"reason":       str(),
			"rejectReason": nullable(str()),
			"refund":       nullable(obj(map[string]any{"id": str(), "status": enum("SUCCEEDED")}, "id", "status")),
			"history":      arr(obj(map[string]any{"status": returnStatus, "at": timestamp()}, "status", "at")),
			"createdAt":    timestamp(), "updatedAt": timestamp(),
		}, "id", "orderId", "customerId", "status", "items", "amount", "reason", "refund", "history"),
		"ReturnList": list("Return"),
		"Review": obj(map[string]any{
			"id": str(), "productId": str(), "authorId": str(), "authorName": str(),
			"rating": map[string]any{"type": "integer", "minimum": 1, "maximum": 5}, "title": str(), "body": str(),
			"createdAt": timestamp(), "updatedAt": timestamp(),
		}, "id", "productId", "authorId", "rating"),
		"ReviewList": list("Review"),
		"Payment": obj(map[string]any{
			"id": str(), "orderId": str(), "status": paymentStatus, "amount": ref("Money"),
			"method": str(), "gateway": str(), "transactionId": str(), "failureCode": str(), "refundId": str(),
			"createdAt": timestamp(), "updatedAt": timestamp(),
		}, "id", "orderId", "status", "amount"),
		"PaymentList": list("Payment"),
		"Delivery": obj(map[string]any{
			"id": str(), "orderId": str(), "status": deliveryStatus,
			"partner": obj(map[string]any{"id": str(), "name": str()}, "id", "name"), "trackingNumber": str(),
			"history": arr(obj(map[string]any{"status": deliveryStatus, "at": timestamp()}, "status", "at")),
		}, "id", "orderId", "status", "partner", "history"),
		"DeliveryList": list("Delivery"),
		"DeadLetter": obj(map[string]any{
			"id": str(), "eventId": str(), "type": str(), "source": str(),
			"event":            map[string]any{"type": "object", "description": "the CloudEvent, structured JSON"},
			"knativeerrordest": str(), "knativeerrorcode": nullable(integer()), "knativeerrordata": str(),
			"arrivals":   map[string]any{"type": "integer", "minimum": 1, "description": "how often it was dead-lettered"},
			"receivedAt": timestamp(), "replayedAt": nullable(timestamp()),
		}, "id", "event", "receivedAt"),
		"DeadLetterList": list("DeadLetter"),
		"OrderTimeline": obj(map[string]any{
			"orderId": str(),
			"entries": arr(obj(map[string]any{
				"at":      timestamp(),
				"kind":    enum("event", "delivery", "dead-letter", "reconcile"),
				"type":    str(),
				"eventId": str(),
				"source":  str(),
				"detail":  map[string]any{"type": "object", "description": "event: subject; delivery: function, status, durationMs, attempt; dead-letter: letterId, errorCode, errorDest; reconcile: the action's order status and count"},
			}, "at", "kind", "type", "eventId", "source", "detail")),
		}, "orderId", "entries"),
	}
}
