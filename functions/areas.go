package functions

// Areas maps the first path segment after /api/ to the HTTP function that
// serves it. The local gateway and the cluster's Ingress both follow it.
var Areas = map[string]string{
	"auth":         "auth",
	"users":        "users",
	"products":     "products",
	"cart":         "cart",
	"orders":       "orders",
	"payments":     "payments",
	"deliveries":   "deliveries",
	"admin":        "admin",
	"openapi.json": "admin",
}
