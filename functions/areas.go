package functions

// Areas maps the first path segment after /api/ to the HTTP function that
// serves it. The local gateway and the cluster's Ingress both follow it.
var Areas = map[string]string{
	"auth":         "auth",
	"users":        "users",
	"products":     "products",
	"cart":         "cart",
	"orders":       "orders",
	"returns":      "returns",
	"reviews":      "reviews",
	"payments":     "payments",
	"deliveries":   "deliveries",
	"admin":        "admin",
	"openapi.json": "admin",
}

// Root is the function that serves every path outside /api/: the web
// storefront at /.
const Root = "storefront"

// Nested is a route one function serves inside another's area:
// /api/<Area>/{id}/<Leaf> and below go to Function, not to the area's.
type Nested struct {
	Area, Leaf, Function string
}

// NestedRoutes are the nested routes of the API: a product's reviews and an
// order's returns belong to reviews and returns.
var NestedRoutes = []Nested{
	{Area: "orders", Leaf: "returns", Function: "returns"},
	{Area: "products", Leaf: "reviews", Function: "reviews"},
}

// IngressPath is the Ingress path (an ingress-nginx regular expression)
// that matches n's routes.
func (n Nested) IngressPath() string { return "/api/" + n.Area + "/[^/]+/" + n.Leaf }
