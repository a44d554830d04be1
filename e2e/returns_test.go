package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// The walk of issue 16: order → COMPLETED → return one unit → RECEIVED →
// REFUNDED with the stock back; a second partial return; reviews → the
// product's rating and sort=-rating.
func TestReturnsAndReviews(t *testing.T) { onEachMySQL(t, returnsAndReviews) }

func returnsAndReviews(t *testing.T, env map[string]string) {
	s := startShop(t, env)
	admin := s.login(adminEmail, adminPassword)
	seller, _ := s.register("seller@returns.test", "seller")
	ann, _ := s.register("ann@returns.test", "customer")
	bob, _ := s.register("bob@returns.test", "customer")
	mug := s.addProduct(seller, "returnable mug", 1000, 5)
	plain := s.addProduct(seller, "plain mug", 900, 5)

	order := placeEventually(t, s, ann, mug, 2, "pm_card_visa")
	s.waitOrder(ann, order, "COMPLETED")
	if got := s.stock(mug); got != 3 {
		t.Fatalf("stock after selling 2 = %d, want 3", got)
	}

	t.Run("a return of one unit is refunded and restocked", func(t *testing.T) {
		path := "/api/orders/" + order + "/returns"
		s.must(404, "POST", path, bob, map[string]any{"items": []any{map[string]any{"productId": mug, "quantity": 1}}, "reason": "not mine"})
		s.must(409, "POST", path, ann, map[string]any{"items": []any{map[string]any{"productId": mug, "quantity": 3}}, "reason": "too many"})
		ret := s.must(202, "POST", path, ann, map[string]any{"items": []any{map[string]any{"productId": mug, "quantity": 1}}, "reason": "chipped"})
		conforms(t, "Return", ret)
		id := ret["id"].(string)
		if ret["status"] != "REQUESTED" || ret["amount"].(map[string]any)["amount"].(float64) != 1000 {
			t.Fatalf("return = %v", ret)
		}
		s.must(403, "POST", "/api/returns/"+id+"/receive", ann, nil)
		s.must(202, "POST", "/api/returns/"+id+"/receive", admin, nil)
		done := waitReturn(t, s, ann, id, "REFUNDED")
		conforms(t, "Return", done)
		if done["refund"] == nil {
			t.Fatalf("a refunded return without its refund: %v", done)
		}
		eventually(t, "the unit is back in stock", func() string {
			if got := s.stock(mug); got != 4 {
				return fmt.Sprintf("stock %d, want 4", got)
			}
			return ""
		})
		// One refund and one event of each kind (by id: the outbox and the
		// Broker deliver at least once, so a record may repeat).
		eventually(t, "the refund is on the topic once", func() string {
			if n := s.topic.distinct(order, "PAYMENT_REFUNDED"); n != 1 {
				return fmt.Sprintf("%d distinct PAYMENT_REFUNDED", n)
			}
			for _, typ := range []string{"RETURN_REQUESTED", "RETURN_RECEIVED"} {
				if s.topic.distinct(order, typ) != 1 {
					return "not one " + typ + " keyed by the order"
				}
			}
			return ""
		})
		conforms(t, "ReturnList", s.must(200, "GET", "/api/returns?orderId="+order, ann, nil))
	})

	t.Run("a duplicate RETURN_RECEIVED restocks and refunds nothing more", func(t *testing.T) {
		// The Broker delivers at least once: the same event (same id) comes
		// twice more through the real Broker to restock-return and
		// refund-return.
		rec := s.topic.find(order, "RETURN_RECEIVED")
		for range 2 {
			s.republish(rec)
		}
		eventually(t, "both reactions answered the duplicates", func() string {
			got := map[string]int{}
			for _, e := range s.timeline(admin, order) {
				if e.kind == "delivery" && e.typ == "RETURN_RECEIVED" && e.status < 300 {
					got[e.function]++
				}
			}
			if got["restock-return"] < 3 || got["refund-return"] < 3 {
				return describe(got)
			}
			return ""
		})
		if got := s.stock(mug); got != 4 {
			t.Fatalf("stock after duplicates = %d, want 4", got)
		}
		if n := s.topic.distinct(order, "PAYMENT_REFUNDED"); n != 1 {
			t.Fatalf("%d distinct refunds after duplicates, want 1", n)
		}
	})

	t.Run("a second partial return refunds the rest, a third is refused", func(t *testing.T) {
		path := "/api/orders/" + order + "/returns"
		ret := s.must(202, "POST", path, ann, map[string]any{"items": []any{map[string]any{"productId": mug, "quantity": 1}}, "reason": "spare"})
		s.must(409, "POST", path, ann, map[string]any{"items": []any{map[string]any{"productId": mug, "quantity": 1}}, "reason": "again"})
		s.must(202, "POST", "/api/returns/"+ret["id"].(string)+"/receive", admin, nil)
		waitReturn(t, s, ann, ret["id"].(string), "REFUNDED")
		eventually(t, "both units are back, two refunds made", func() string {
			if got := s.stock(mug); got != 5 {
				return fmt.Sprintf("stock %d, want 5", got)
			}
			if n := s.topic.distinct(order, "PAYMENT_REFUNDED"); n != 2 {
				return fmt.Sprintf("%d distinct refunds", n)
			}
			return ""
		})
		p := s.must(200, "GET", "/api/payments?orderId="+order, ann, nil)
		if items := p["items"].([]any); len(items) != 1 || items[0].(map[string]any)["status"] != "SUCCEEDED" {
			t.Errorf("the payment after partial refunds = %v", p)
		}
	})

	t.Run("buyers review; the rating follows the visible reviews", func(t *testing.T) {
		bobsOrder := placeEventually(t, s, bob, mug, 1, "pm_card_visa")
		s.waitOrder(bob, bobsOrder, "COMPLETED")
		plainOrder := placeEventually(t, s, ann, plain, 1, "pm_card_visa")
		s.waitOrder(ann, plainOrder, "COMPLETED")
		carol, _ := s.register("carol@returns.test", "customer")
		path := "/api/products/" + mug + "/reviews"
		s.must(403, "POST", path, carol, map[string]any{"rating": 5})
		var a map[string]any
		eventually(t, "record-purchase lets Ann review", func() string {
			code, out := s.call("POST", path, ann, map[string]any{"rating": 5, "title": "Great"})
			if code != 201 {
				return fmt.Sprintf("%d %v", code, out)
			}
			a = out
			return ""
		})
		conforms(t, "Review", a)
		s.must(409, "POST", path, ann, map[string]any{"rating": 4})
		eventually(t, "record-purchase lets Bob review", func() string {
			if code, out := s.call("POST", path, bob, map[string]any{"rating": 2}); code != 201 {
				return fmt.Sprintf("%d %v", code, out)
			}
			return ""
		})
		eventually(t, "Ann reviews the plain mug", func() string {
			if code, out := s.call("POST", "/api/products/"+plain+"/reviews", ann, map[string]any{"rating": 4}); code != 201 {
				return fmt.Sprintf("%d %v", code, out)
			}
			return ""
		})
		waitRating(t, s, mug, 3.5, 2)
		waitRating(t, s, plain, 4, 1)
		list := s.must(200, "GET", "/api/products?sort=-rating&category=test", "", nil)
		conforms(t, "ProductList", list)
		if first := list["items"].([]any)[0].(map[string]any)["id"]; first != plain {
			t.Errorf("best rated first is %v, want the plain mug", first)
		}
		s.must(200, "PATCH", "/api/reviews/"+a["id"].(string), ann, map[string]any{"rating": 3})
		waitRating(t, s, mug, 2.5, 2)
		reviews := s.must(200, "GET", path+"?sort=-rating", "", nil)
		conforms(t, "ReviewList", reviews)
		bobs := reviews["items"].([]any)[1].(map[string]any)["id"].(string)
		s.must(200, "POST", "/api/reviews/"+bobs+"/hide", admin, nil)
		waitRating(t, s, mug, 3, 1)
		if got := s.must(200, "GET", "/api/products?minRating=3.5&category=test", "", nil)["total"].(float64); got != 1 {
			t.Errorf("minRating=3.5 finds %v products, want 1", got)
		}
		s.must(204, "DELETE", "/api/reviews/"+a["id"].(string), ann, nil)
		waitRating(t, s, mug, 0, 0)
	})
}

func waitReturn(t *testing.T, s *shop, token, id, want string) map[string]any {
	t.Helper()
	var last map[string]any
	eventually(t, "return "+id+" becomes "+want, func() string {
		_, last = s.call("GET", "/api/returns/"+id, token, nil)
		if last["status"] != want {
			return describe(last)
		}
		return ""
	})
	return last
}

func waitRating(t *testing.T, s *shop, product string, average float64, count int) {
	t.Helper()
	eventually(t, fmt.Sprintf("product rating %.2f over %d", average, count), func() string {
		r := s.must(200, "GET", "/api/products/"+product, "", nil)["rating"].(map[string]any)
		if r["average"].(float64) != average || int(r["count"].(float64)) != count {
			return describe(r)
		}
		return ""
	})
}

// find returns the first record of type typ keyed by key on the topic.
func (w *topicWatcher) find(key, typ string) record {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range w.records {
		if r.Key == key && r.Type == typ {
			return r
		}
	}
	panic("no " + typ + " keyed " + key + " on the topic")
}

// republish sends a record's event to the Broker again, as it was (binary
// mode, same id): a duplicate delivery.
func (s *shop) republish(r record) {
	s.t.Helper()
	body, err := json.Marshal(r.Data)
	if err != nil {
		s.t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, s.stack.BrokerURL, bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	for k, v := range r.Headers {
		if name, ok := strings.CutPrefix(k, "ce_"); ok {
			req.Header.Set("Ce-"+name, v)
		}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		s.t.Fatalf("the Broker took the duplicate with %d", resp.StatusCode)
	}
}
