package cart_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/knshop/knshop/functions/cart"
	"github.com/knshop/knshop/lib/auth"
	"github.com/knshop/knshop/lib/auth/authtest"
	"github.com/knshop/knshop/lib/ids"
	"github.com/knshop/knshop/lib/money"
	"github.com/knshop/knshop/lib/orderstore"
	"github.com/knshop/knshop/lib/orderstore/orderstoretest"
	"github.com/knshop/knshop/lib/storetest"
)

func TestCartRoutes(t *testing.T) {
	storetest.OnEachMySQL(t, func(t *testing.T, eng storetest.Engine) {
		db := orderstoretest.New(t, eng)
		keys := authtest.New(t)
		url := db.Serve(t, cart.Name, cart.New(), keys.Env)

		mug := db.Product(t, "Mug", money.New(1250, "USD"), 10)
		tea := db.Product(t, "Tea", money.New(300, "USD"), 10)
		sold := db.Product(t, "Sold out", money.New(300, "USD"), 0)
		alice, bob := ids.New(), ids.New()

		// Steps run in order against one cart; each checks the answer.
		steps := []struct {
			name       string
			user       string
			role       auth.Role
			method     string
			path, body string
			wantStatus int
			wantTotal  int64 // -1: no total (empty cart)
			wantItems  int
		}{
			{"empty cart", alice, auth.Customer, "GET", "/api/cart", "", 200, -1, 0},
			{"no token", alice, "", "GET", "/api/cart", "", 401, 0, 0},
			{"add mugs", alice, auth.Customer, "PUT", "/api/cart/items/" + mug, `{"quantity":2}`, 200, 2500, 1},
			{"add tea", alice, auth.Customer, "PUT", "/api/cart/items/" + tea, `{"quantity":1}`, 200, 2800, 2},
			{"set mugs to one", alice, auth.Customer, "PUT", "/api/cart/items/" + mug, `{"quantity":1}`, 200, 1550, 2},
			{"unknown product", alice, auth.Customer, "PUT", "/api/cart/items/" + ids.New(), `{"quantity":1}`, 400, 0, 0},
			{"sold out product", alice, auth.Customer, "PUT", "/api/cart/items/" + sold, `{"quantity":1}`, 400, 0, 0},
			{"negative quantity", alice, auth.Customer, "PUT", "/api/cart/items/" + tea, `{"quantity":-1}`, 400, 0, 0},
			{"missing quantity", alice, auth.Customer, "PUT", "/api/cart/items/" + tea, `{}`, 400, 0, 0},
			{"client price ignored as unknown field", alice, auth.Customer, "PUT", "/api/cart/items/" + tea, `{"quantity":1,"unitPrice":1}`, 400, 0, 0},
			{"still the same", alice, auth.Customer, "GET", "/api/cart", "", 200, 1550, 2},
			{"bob's cart is his own", bob, auth.Seller, "GET", "/api/cart", "", 200, -1, 0},
			{"quantity zero removes", alice, auth.Customer, "PUT", "/api/cart/items/" + tea, `{"quantity":0}`, 200, 1250, 1},
			{"delete an item", alice, auth.Customer, "DELETE", "/api/cart/items/" + mug, "", 200, -1, 0},
			{"add again", alice, auth.Customer, "PUT", "/api/cart/items/" + tea, `{"quantity":3}`, 200, 900, 1},
			{"clear", alice, auth.Customer, "DELETE", "/api/cart", "", 204, 0, 0},
			{"cleared", alice, auth.Customer, "GET", "/api/cart", "", 200, -1, 0},
		}
		for _, st := range steps {
			req, err := http.NewRequest(st.method, url+st.path, strings.NewReader(st.body))
			if err != nil {
				t.Fatal(err)
			}
			if st.role != "" {
				req.Header.Set("Authorization", keys.Bearer(t, st.user, st.role))
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != st.wantStatus {
				t.Fatalf("%s: status %d, want %d: %s", st.name, resp.StatusCode, st.wantStatus, b)
			}
			if st.wantStatus != 200 {
				continue
			}
			var c orderstore.Cart
			if err := json.Unmarshal(b, &c); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			got := int64(-1)
			if c.Total != nil {
				got = c.Total.Amount
			}
			if got != st.wantTotal || len(c.Items) != st.wantItems {
				t.Fatalf("%s: cart %s, want total %d with %d items", st.name, b, st.wantTotal, st.wantItems)
			}
		}

		t.Run("price follows the read model", func(t *testing.T) {
			ctx := context.Background()
			if _, err := db.Store.SetCartItem(ctx, bob, mug, 2, time.Now()); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Store.ApplyProduct(ctx, orderstore.Product{ID: mug, Name: "Mug", Price: money.New(1000, "USD"), Stock: 3, Version: 2, UpdatedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
			c, err := db.Store.Cart(ctx, bob)
			if err != nil || c.Total == nil || c.Total.Amount != 2000 {
				t.Fatalf("cart after a price change: %+v, %v", c, err)
			}
		})
	})
}
