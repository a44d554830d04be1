package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/knshop/knshop/lib/httpapi"
	"github.com/knshop/knshop/lib/orderstore"
)

// loadConfig is what `knshop load` is told.
type loadConfig struct {
	api       string
	rate      float64
	duration  time.Duration
	products  int
	customers int
	stock     int
	settle    time.Duration
	timings   string
}

// load places orders on a running shop at an open-loop rate (one order
// every 1/rate, whether or not the previous ones are answered), follows
// each to a terminal state and reports throughput, latencies, outcomes and
// the stock conservation check.
func load(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	var c loadConfig
	fs.StringVar(&c.api, "api", "http://localhost:8080", "the shop's base URL (the gateway or the Ingress)")
	fs.Float64Var(&c.rate, "rate", 10, "orders per second, open loop")
	fs.DurationVar(&c.duration, "duration", 30*time.Second, "how long to place orders")
	fs.IntVar(&c.products, "products", 1, "products to spread the orders over (1: a flash sale of one product)")
	fs.IntVar(&c.customers, "customers", 10, "customers placing the orders")
	fs.IntVar(&c.stock, "stock", 100_000, "units of each product")
	fs.DurationVar(&c.settle, "settle", time.Minute, "how long to wait for every order to end after the last POST")
	fs.StringVar(&c.timings, "timings", "", "also write each order's timings to this CSV file (sent at, POST, POST→PAID, in ms; the status)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.rate <= 0 || c.duration <= 0 || c.products < 1 || c.customers < 1 || c.stock < 1 {
		return errors.New("load: --rate, --duration, --products, --customers and --stock must be positive")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, err := runLoad(ctx, c)
	if err != nil {
		return err
	}
	r.print(stdout, c)
	if c.timings != "" {
		if err := r.writeTimings(c.timings); err != nil {
			return err
		}
	}
	if !r.conserved || r.open > 0 {
		return errors.New("load: the shop did not end every order or did not conserve stock")
	}
	return nil
}

type client struct {
	api  string
	http *http.Client
}

func (c client) call(ctx context.Context, method, path, token string, body any, header ...string) (int, map[string]any, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.api+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out := map[string]any{}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil && !errors.Is(err, io.EOF) {
		return resp.StatusCode, nil, err
	}
	return resp.StatusCode, out, nil
}

func (c client) expect(ctx context.Context, want int, method, path, token string, body any) (map[string]any, error) {
	code, out, err := c.call(ctx, method, path, token, body)
	if err != nil {
		return nil, err
	}
	if code != want {
		return nil, fmt.Errorf("%s %s: %d %v", method, path, code, out)
	}
	return out, nil
}

// placed is one accepted order and what became of it.
type placed struct {
	id      string
	token   string
	product string
	sent    time.Duration // when the POST was sent, from the first one
	post    time.Duration // POST answer time
	toPaid  time.Duration // createdAt → PAID, by the shop's own history
	status  orderstore.Status
	hasPaid bool
}

type loadResult struct {
	orders              []placed
	refused, failed     int
	elapsed, settledIn  time.Duration
	open                int
	conserved           bool
	stockNow, soldUnits int
}

func runLoad(ctx context.Context, c loadConfig) (loadResult, error) {
	cl := client{api: strings.TrimSuffix(c.api, "/"), http: &http.Client{Transport: httpapi.NewTransport(), Timeout: 10 * time.Second}}
	run := fmt.Sprintf("%x", rand.Uint64())
	seller, err := cl.expect(ctx, 201, "POST", "/api/auth/register", "", map[string]any{
		"email": "seller-" + run + "@load.test", "password": "load-password", "name": "Load seller", "role": "seller"})
	if err != nil {
		return loadResult{}, fmt.Errorf("load: register the seller: %w", err)
	}
	sellerToken := seller["accessToken"].(string)
	products := make([]string, c.products)
	for i := range products {
		p, err := cl.expect(ctx, 201, "POST", "/api/products", sellerToken, map[string]any{
			"name": fmt.Sprintf("load %s #%d", run, i), "description": "load test", "category": "load",
			"price": map[string]any{"amount": 100, "currency": "USD"}, "stock": c.stock})
		if err != nil {
			return loadResult{}, fmt.Errorf("load: add a product: %w", err)
		}
		products[i] = p["id"].(string)
	}
	tokens := make([]string, c.customers)
	for i := range tokens {
		u, err := cl.expect(ctx, 201, "POST", "/api/auth/register", "", map[string]any{
			"email": fmt.Sprintf("customer-%d-%s@load.test", i, run), "password": "load-password", "name": "Load customer"})
		if err != nil {
			return loadResult{}, fmt.Errorf("load: register a customer: %w", err)
		}
		tokens[i] = u["accessToken"].(string)
	}
	// The orders side learns products from events: wait until each orders.
	for _, p := range products {
		deadline := time.Now().Add(time.Minute)
		for {
			code, _, err := cl.call(ctx, "PUT", "/api/cart/items/"+p, tokens[0], map[string]any{"quantity": 1})
			if err == nil && code == 200 {
				break
			}
			if time.Now().After(deadline) {
				return loadResult{}, fmt.Errorf("load: the orders side never learned product %s", p)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if _, _, err := cl.call(ctx, "DELETE", "/api/cart", tokens[0], nil); err != nil {
		return loadResult{}, err
	}

	var (
		mu  sync.Mutex
		res loadResult
		wg  sync.WaitGroup
	)
	address := map[string]any{"line1": "1 Load St", "city": "Springfield", "postalCode": "12345", "country": "US"}
	interval := time.Duration(float64(time.Second) / c.rate)
	start := time.Now()
	tick := time.NewTicker(interval)
	for n := 0; time.Since(start) < c.duration && ctx.Err() == nil; n++ {
		wg.Go(func() {
			p := products[n%len(products)]
			began := time.Now()
			body := map[string]any{"items": []any{map[string]any{"productId": p, "quantity": 1}}, "shippingAddress": address, "paymentMethod": "pm_card_visa"}
			key := fmt.Sprintf("%s-%d", run, n)
			code, out, err := cl.call(ctx, "POST", "/api/orders", tokens[n%len(tokens)], body, "Idempotency-Key", key)
			took := time.Since(began)
			// A POST that timed out may still have placed the order: the
			// same Idempotency-Key answers with it (or places it once).
			for retry := 0; err != nil && retry < 3 && ctx.Err() == nil; retry++ {
				time.Sleep(time.Second)
				code, out, err = cl.call(ctx, "POST", "/api/orders", tokens[n%len(tokens)], body, "Idempotency-Key", key)
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				res.failed++
			case code != 202:
				res.refused++
			default:
				res.orders = append(res.orders, placed{id: out["id"].(string), token: tokens[n%len(tokens)], product: p, sent: began.Sub(start), post: took})
			}
		})
		<-tick.C
	}
	tick.Stop()
	wg.Wait()
	res.elapsed = time.Since(start)
	lastPost := time.Now()

	// Follow every order to its end, eight at a time; PAID is timed by the
	// shop's own history (createdAt → the PAID entry), not by this poll.
	next := make(chan *placed)
	var followers sync.WaitGroup
	for range 8 {
		followers.Go(func() {
			for o := range next {
				// Past the settle time an order is not asked about any more:
				// an overloaded shop must not keep the report waiting.
				for time.Since(lastPost) <= c.settle && ctx.Err() == nil {
					_, out, err := cl.call(ctx, "GET", "/api/orders/"+o.id, o.token, nil)
					if err == nil {
						o.read(out)
					}
					if o.status == orderstore.Completed || o.status == orderstore.Cancelled {
						break
					}
					time.Sleep(200 * time.Millisecond)
				}
			}
		})
	}
	for i := range res.orders {
		next <- &res.orders[i]
	}
	close(next)
	followers.Wait()
	res.settledIn = time.Since(lastPost)
	for _, o := range res.orders {
		if o.status != orderstore.Completed && o.status != orderstore.Cancelled {
			res.open++
		}
	}
	// Conservation: every product's stock now plus its completed orders is
	// what it started with (all orders ended, so nothing stays reserved).
	res.conserved = res.open == 0
	for _, p := range products {
		out, err := cl.expect(ctx, 200, "GET", "/api/products/"+p, "", nil)
		if err != nil {
			return res, err
		}
		stock := int(out["stock"].(float64))
		sold := 0
		for _, o := range res.orders {
			if o.product == p && o.status == orderstore.Completed {
				sold++
			}
		}
		res.stockNow += stock
		res.soldUnits += sold
		if stock+sold != c.stock {
			res.conserved = false
		}
	}
	return res, nil
}

// read takes the status and the time to PAID from an order answer.
func (o *placed) read(out map[string]any) {
	st, _ := out["status"].(string)
	o.status = orderstore.Status(st)
	created, err := time.Parse(time.RFC3339Nano, fmt.Sprint(out["createdAt"]))
	if err != nil {
		return
	}
	hist, _ := out["history"].([]any)
	for _, h := range hist {
		e, _ := h.(map[string]any)
		if e["status"] != string(orderstore.Paid) {
			continue
		}
		if at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(e["at"])); err == nil {
			o.toPaid, o.hasPaid = at.Sub(created), true
		}
	}
}

// writeTimings writes one CSV line per accepted order, in the order they
// were sent: when (ms since the first POST), the POST's answer time, the
// time to PAID by the shop's history (empty when never paid) and the
// status it ended in. Plotted over time it tells queueing from stalls.
func (r loadResult) writeTimings(path string) error {
	orders := slices.Clone(r.orders)
	slices.SortFunc(orders, func(a, b placed) int { return cmp.Compare(a.sent, b.sent) })
	var b strings.Builder
	b.WriteString("sent_ms,post_ms,to_paid_ms,status\n")
	ms := func(d time.Duration) string {
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64)
	}
	for _, o := range orders {
		paid := ""
		if o.hasPaid {
			paid = ms(o.toPaid)
		}
		fmt.Fprintf(&b, "%s,%s,%s,%s\n", ms(o.sent), ms(o.post), paid, o.status)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	return nil
}

// percentile of sorted durations, p in [0, 100].
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p / 100)
	return sorted[i]
}

func (r loadResult) print(w io.Writer, c loadConfig) {
	var posts, paid []time.Duration
	states := map[string]int{}
	for _, o := range r.orders {
		posts = append(posts, o.post)
		if o.hasPaid {
			paid = append(paid, o.toPaid)
		}
		st := string(o.status)
		if st == "" {
			st = "UNSEEN"
		}
		states[st]++
	}
	slices.Sort(posts)
	slices.Sort(paid)
	ms := func(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }
	fmt.Fprintf(w, "offered:        %.1f orders/s for %v, %d product(s), %d customer(s)\n", c.rate, c.duration, c.products, c.customers)
	fmt.Fprintf(w, "accepted:       %d (%.1f orders/s); %d refused, %d failed\n", len(r.orders), float64(len(r.orders))/r.elapsed.Seconds(), r.refused, r.failed)
	fmt.Fprintf(w, "POST latency:   p50 %s, p99 %s\n", ms(percentile(posts, 50)), ms(percentile(posts, 99)))
	fmt.Fprintf(w, "POST→PAID:      p50 %s, p99 %s (%d paid)\n", ms(percentile(paid, 50)), ms(percentile(paid, 99)), len(paid))
	keys := make([]string, 0, len(states))
	for k := range states {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, states[k]))
	}
	fmt.Fprintf(w, "terminal:       %s; %d not ended (or not seen) %v after the last POST\n", strings.Join(parts, ", "), r.open, r.settledIn.Round(time.Second))
	verdict := "conserved"
	switch {
	case r.open > 0:
		// Open orders still hold reserved units, and orders whose POST got
		// no answer are not known here at all: nothing can be concluded.
		verdict = fmt.Sprintf("not checkable while %d orders are open", r.open)
	case !r.conserved:
		verdict = "NOT conserved"
	}
	fmt.Fprintf(w, "stock:          %s (%d left + %d sold = %d × %d)\n", verdict, r.stockNow, r.soldUnits, c.products, c.stock)
}
