package openapi

import "github.com/knshop/knshop/lib/deliverystore"

var (
	anyone   []string
	signedIn = []string{"signed in"}
	page     = []Param{
		{Name: "page", Description: "page number from 1", Schema: map[string]any{"type": "integer", "minimum": 1, "maximum": 10_000_000}},
		{Name: "limit", Description: "items per page, at most 100", Schema: map[string]any{"type": "integer", "minimum": 1, "maximum": 100}},
	}
)

func withPage(ps ...Param) []Param { return append(ps, page...) }

// Routes lists every operation of the API, grouped by function.
func Routes() []Route {
	credentials := obj(map[string]any{"email": str(), "password": str()}, "email", "password")
	refresh := obj(map[string]any{"refreshToken": str()}, "refreshToken")
	return []Route{
		// auth
		{Method: "POST", Path: "/api/auth/register", Function: "auth", Summary: "Create an account (customer by default, or seller)", Roles: anyone,
			Body:      obj(map[string]any{"email": str(), "password": map[string]any{"type": "string", "minLength": 8}, "name": str(), "role": enum("customer", "seller")}, "email", "password", "name"),
			Responses: map[int]any{201: ref("Tokens"), 409: ref("Problem")}},
		{Method: "POST", Path: "/api/auth/login", Function: "auth", Summary: "Sign in", Roles: anyone, Body: credentials,
			Responses: map[int]any{200: ref("Tokens"), 401: ref("Problem"), 429: ref("Problem")}},
		{Method: "POST", Path: "/api/auth/refresh", Function: "auth", Summary: "Rotate a refresh token for a new pair; reuse revokes the family", Roles: anyone, Body: refresh,
			Responses: map[int]any{200: ref("Tokens"), 401: ref("Problem")}},
		{Method: "POST", Path: "/api/auth/logout", Function: "auth", Summary: "Revoke a refresh token", Roles: anyone, Body: refresh,
			Responses: map[int]any{204: nil}},
		{Method: "GET", Path: "/api/auth/jwks.json", Function: "auth", Summary: "The public keys that verify access tokens", Roles: anyone,
			Responses: map[int]any{200: ref("JWKS")}},

		// users
		{Method: "GET", Path: "/api/users/me", Function: "users", Summary: "My profile", Roles: signedIn, Responses: map[int]any{200: ref("User"), 404: ref("Problem")}},
		{Method: "PATCH", Path: "/api/users/me", Function: "users", Summary: "Change my name or preferences", Roles: signedIn,
			Body: obj(map[string]any{"name": str(), "preferences": map[string]any{"type": "object"}}), Responses: map[int]any{200: ref("User")}},
		{Method: "DELETE", Path: "/api/users/me", Function: "users", Summary: "Delete my account: open orders are cancelled, login stops working", Roles: signedIn, Responses: map[int]any{204: nil}},
		{Method: "POST", Path: "/api/users/me/addresses", Function: "users", Summary: "Add an address", Roles: signedIn, Body: ref("AddressInput"), Responses: map[int]any{201: ref("Address")}},
		{Method: "PUT", Path: "/api/users/me/addresses/{addressId}", Function: "users", Summary: "Replace an address", Roles: signedIn, Body: ref("AddressInput"), Responses: map[int]any{200: ref("Address")}},
		{Method: "DELETE", Path: "/api/users/me/addresses/{addressId}", Function: "users", Summary: "Remove an address", Roles: signedIn, Responses: map[int]any{204: nil}},
		{Method: "GET", Path: "/api/users/{id}", Function: "users", Summary: "Any user's profile", Roles: []string{"admin"}, Responses: map[int]any{200: ref("User")}},
		{Method: "PATCH", Path: "/api/users/{id}/role", Function: "users", Summary: "Change a user's role", Roles: []string{"admin"},
			Body: obj(map[string]any{"role": enum("customer", "seller", "courier", "admin")}, "role"), Responses: map[int]any{200: ref("User")}},

		// products
		{Method: "GET", Path: "/api/products", Function: "products", Summary: "Search the catalog", Roles: anyone,
			Query: withPage(
				Param{Name: "q", Description: "case-insensitive text in name or description", Schema: str()},
				Param{Name: "category", Schema: str()},
				Param{Name: "sellerId", Description: "one seller's products", Schema: str()},
				Param{Name: "minPrice", Description: "minor units", Schema: map[string]any{"type": "integer", "minimum": 0}},
				Param{Name: "maxPrice", Description: "minor units", Schema: map[string]any{"type": "integer", "minimum": 0}},
				Param{Name: "inStock", Schema: boolean()},
				Param{Name: "minRating", Description: "products whose average rating is at least this", Schema: map[string]any{"type": "number", "minimum": 0, "maximum": 5}},
				Param{Name: "sort", Schema: enum("price", "-price", "name", "-createdAt", "-rating")},
			),
			Responses: map[int]any{200: ref("ProductList")}},
		{Method: "GET", Path: "/api/products/{id}", Function: "products", Summary: "One product", Roles: anyone, Responses: map[int]any{200: ref("Product")}},
		{Method: "POST", Path: "/api/products", Function: "products", Summary: "List a product", Roles: []string{"seller", "admin"},
			Body:      obj(map[string]any{"name": str(), "description": str(), "category": str(), "price": ref("Money"), "stock": map[string]any{"type": "integer", "minimum": 0}, "images": arr(str())}, "name", "description", "category", "price", "stock"),
			Responses: map[int]any{201: ref("Product")}},
		{Method: "PATCH", Path: "/api/products/{id}", Function: "products", Summary: "Change a product", Roles: []string{"owning seller", "admin"},
			Body: obj(map[string]any{"name": str(), "description": str(), "category": str(), "price": ref("Money"), "images": arr(str())}), Responses: map[int]any{200: ref("Product")}},
		{Method: "PUT", Path: "/api/products/{id}/stock", Function: "products", Summary: "Set what can still be ordered", Roles: []string{"owning seller", "admin"},
			Body: obj(map[string]any{"stock": map[string]any{"type": "integer", "minimum": 0}}, "stock"), Responses: map[int]any{200: ref("Product")}},
		{Method: "DELETE", Path: "/api/products/{id}", Function: "products", Summary: "Remove a product", Roles: []string{"owning seller", "admin"}, Responses: map[int]any{204: nil}},

		// cart
		{Method: "GET", Path: "/api/cart", Function: "cart", Summary: "My cart", Roles: signedIn, Responses: map[int]any{200: ref("Cart")}},
		{Method: "PUT", Path: "/api/cart/items/{productId}", Function: "cart", Summary: "Set a quantity (0 removes)", Roles: signedIn,
			Body: obj(map[string]any{"quantity": map[string]any{"type": "integer", "minimum": 0, "maximum": 10_000}}, "quantity"), Responses: map[int]any{200: ref("Cart")}},
		{Method: "DELETE", Path: "/api/cart/items/{productId}", Function: "cart", Summary: "Remove an item", Roles: signedIn, Responses: map[int]any{200: ref("Cart")}},
		{Method: "DELETE", Path: "/api/cart", Function: "cart", Summary: "Empty my cart", Roles: signedIn, Responses: map[int]any{204: nil}},

		// orders
		{Method: "POST", Path: "/api/orders", Function: "orders", Summary: "Place an order (from items, or from the cart, which is then emptied)", Roles: []string{"customer"},
			Headers: []Param{{Name: "Idempotency-Key", Description: "a repeat with the same key and body answers with the same order; another body gets 409", Schema: str()}},
			Body: obj(map[string]any{
				"items":             arr(obj(map[string]any{"productId": str(), "quantity": map[string]any{"type": "integer", "minimum": 1, "maximum": 10_000}}, "productId", "quantity")),
				"shippingAddressId": str(), "shippingAddress": ref("AddressInput"), "paymentMethod": str(),
			}, "paymentMethod"),
			Responses: map[int]any{202: ref("Order"), 409: ref("Problem")}},
		{Method: "GET", Path: "/api/orders", Function: "orders", Summary: "My orders, newest first (admin: all, or ?customerId=)", Roles: signedIn,
			Query: withPage(Param{Name: "customerId", Description: "admin only", Schema: str()},
				Param{Name: "stuck", Description: "admin only: true lists the orders reconcile-orders drove again 3 times without a move (one page)", Schema: enum("true")}),
			Responses: map[int]any{200: ref("OrderList")}},
		{Method: "GET", Path: "/api/orders/{id}", Function: "orders", Summary: "One order", Roles: []string{"owner", "admin"}, Responses: map[int]any{200: ref("Order")}},
		{Method: "POST", Path: "/api/orders/{id}/cancel", Function: "orders", Summary: "Cancel an order before it ships", Roles: []string{"owner", "admin"},
			Responses: map[int]any{202: ref("Order"), 409: ref("Problem")}},

		// returns
		{Method: "POST", Path: "/api/orders/{id}/returns", Function: "returns", Summary: "Return units of a COMPLETED order within the return window", Roles: []string{"owner"},
			Headers: []Param{{Name: "Idempotency-Key", Description: "a repeat with the same key and body answers with the same return; another body gets 409", Schema: str()}},
			Body: obj(map[string]any{
				"items":  arr(obj(map[string]any{"productId": str(), "quantity": map[string]any{"type": "integer", "minimum": 1, "maximum": 10_000}}, "productId", "quantity")),
				"reason": map[string]any{"type": "string", "minLength": 1, "maxLength": 2000},
			}, "items", "reason"),
			Responses: map[int]any{202: ref("Return"), 400: ref("Problem"), 404: ref("Problem"), 409: ref("Problem")}},
		{Method: "GET", Path: "/api/returns", Function: "returns", Summary: "My returns (admin: all), newest first", Roles: []string{"owner", "admin"},
			Query: withPage(Param{Name: "orderId", Schema: str()}), Responses: map[int]any{200: ref("ReturnList")}},
		{Method: "GET", Path: "/api/returns/{id}", Function: "returns", Summary: "One return", Roles: []string{"owner", "admin"}, Responses: map[int]any{200: ref("Return"), 404: ref("Problem")}},
		{Method: "POST", Path: "/api/returns/{id}/receive", Function: "returns", Summary: "The parcel arrived: the units go back to stock and the refund follows", Roles: []string{"admin"},
			Responses: map[int]any{202: ref("Return"), 409: ref("Problem")}},
		{Method: "POST", Path: "/api/returns/{id}/reject", Function: "returns", Summary: "Refuse a requested return", Roles: []string{"admin"},
			Body:      obj(map[string]any{"reason": map[string]any{"type": "string", "minLength": 1, "maxLength": 2000}}, "reason"),
			Responses: map[int]any{202: ref("Return"), 409: ref("Problem")}},

		// reviews
		{Method: "POST", Path: "/api/products/{id}/reviews", Function: "reviews", Summary: "Review a product you received (once)", Roles: []string{"customer with a COMPLETED order holding the product"},
			Body: obj(map[string]any{
				"rating": map[string]any{"type": "integer", "minimum": 1, "maximum": 5},
				"title":  map[string]any{"type": "string", "maxLength": 200}, "body": map[string]any{"type": "string", "maxLength": 5000},
			}, "rating"),
			Responses: map[int]any{201: ref("Review"), 403: ref("Problem"), 409: ref("Problem")}},
		{Method: "GET", Path: "/api/products/{id}/reviews", Function: "reviews", Summary: "A product's visible reviews", Roles: anyone,
			Query: withPage(Param{Name: "sort", Schema: enum("-createdAt", "-rating")}), Responses: map[int]any{200: ref("ReviewList"), 404: ref("Problem")}},
		{Method: "PATCH", Path: "/api/reviews/{id}", Function: "reviews", Summary: "Change a review", Roles: []string{"author", "admin"},
			Body: obj(map[string]any{
				"rating": map[string]any{"type": "integer", "minimum": 1, "maximum": 5},
				"title":  map[string]any{"type": "string", "maxLength": 200}, "body": map[string]any{"type": "string", "maxLength": 5000},
			}),
			Responses: map[int]any{200: ref("Review"), 404: ref("Problem")}},
		{Method: "DELETE", Path: "/api/reviews/{id}", Function: "reviews", Summary: "Delete a review", Roles: []string{"author", "admin"}, Responses: map[int]any{204: nil, 404: ref("Problem")}},
		{Method: "POST", Path: "/api/reviews/{id}/hide", Function: "reviews", Summary: "Hide a review: it leaves the list and the rating", Roles: []string{"admin"},
			Responses: map[int]any{200: ref("Review"), 404: ref("Problem")}},

		// payments
		{Method: "GET", Path: "/api/payments", Function: "payments", Summary: "Payments of an order", Roles: []string{"owner", "admin"},
			Query: withPage(Param{Name: "orderId", Schema: str()}), Responses: map[int]any{200: ref("PaymentList")}},
		{Method: "GET", Path: "/api/payments/{id}", Function: "payments", Summary: "One payment", Roles: []string{"owner", "admin"}, Responses: map[int]any{200: ref("Payment")}},
		{Method: "POST", Path: "/api/payments/webhooks/{gateway}", Function: "payments", Summary: "A payment gateway's webhook, signature checked", Roles: anyone,
			Body: map[string]any{"type": "object"}, Responses: map[int]any{200: nil}},

		// deliveries
		{Method: "GET", Path: "/api/deliveries", Function: "deliveries", Summary: "Deliveries of an order", Roles: []string{"order owner", "assigned courier", "admin"},
			Query: withPage(Param{Name: "orderId", Schema: str()}), Responses: map[int]any{200: ref("DeliveryList")}},
		{Method: "GET", Path: "/api/deliveries/{id}", Function: "deliveries", Summary: "One delivery", Roles: []string{"order owner", "assigned courier", "admin"}, Responses: map[int]any{200: ref("Delivery")}},
		{Method: "POST", Path: "/api/deliveries/{id}/events", Function: "deliveries", Summary: "The next delivery step, from the courier, an admin, or the partner (signed)", Roles: []string{"assigned courier", "admin", "partner (X-Signature)"},
			Body:      obj(map[string]any{"status": enumOf([]deliverystore.Status{deliverystore.Couriered, deliverystore.Delivered}), "trackingNumber": str()}, "status"),
			Responses: map[int]any{202: ref("Delivery"), 409: ref("Problem")}},

		// operations
		{Method: "GET", Path: "/api/admin/dead-letters", Function: "admin", Summary: "Events that exhausted their retries", Roles: []string{"admin"}, Query: page,
			Responses: map[int]any{200: ref("DeadLetterList")}},
		{Method: "POST", Path: "/api/admin/dead-letters/{id}/replay", Function: "admin", Summary: "Send a dead letter back to the Broker", Roles: []string{"admin"},
			Responses: map[int]any{202: nil}},
		{Method: "GET", Path: "/api/admin/orders/{id}/timeline", Function: "admin", Summary: "An order's whole life, oldest first: its events, their deliveries to functions (answer, attempt), dead letters and reconcile actions", Roles: []string{"admin"},
			Responses: map[int]any{200: ref("OrderTimeline"), 404: ref("Problem")}},
		{Method: "GET", Path: "/api/openapi.json", Function: "admin", Summary: "This document", Roles: anyone, Responses: map[int]any{200: map[string]any{"type": "object"}}},
	}
}
