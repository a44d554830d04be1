package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"
)

// proc is `knshop dev` running as a child process on a data directory.
type proc struct {
	t   *testing.T
	cmd *exec.Cmd
	api string // the gateway's base URL
}

var upLine = regexp.MustCompile(`knshop is up: API (\S+)/api`)

// startKnshop runs the binary on dir with every address on a free loopback
// port, and waits until it says it is up.
func startKnshop(t *testing.T, bin, dir string, env []string) *proc {
	t.Helper()
	cmd := exec.Command(bin, "dev", "--data", dir, "--addr", "127.0.0.1:0", "--broker-addr", "127.0.0.1:0",
		"--kafka-addr", "127.0.0.1:0", "--mongo-addr", "127.0.0.1:0", "--mysql-addr", "127.0.0.1:0",
		"--relay-every", "1s", "--reconcile-every", "500ms")
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = ".." // the repository: brokers/ and triggers/ are read from there
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	up := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := upLine.FindStringSubmatch(sc.Text()); m != nil {
				up <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case api := <-up:
		return &proc{t: t, cmd: cmd, api: api}
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("knshop did not come up: %s", stderr.String())
	}
	return nil
}

// kill is SIGKILL: nothing is flushed, saved or closed.
func (p *proc) kill() {
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		p.t.Fatal(err)
	}
	_ = p.cmd.Wait()
}

func (p *proc) do(method, path, token string, body any) (int, map[string]any) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, p.api+path, rd)
	if err != nil {
		p.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	out := map[string]any{}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (p *proc) must(want int, method, path, token string, body any) map[string]any {
	p.t.Helper()
	var code int
	var out map[string]any
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if code, out = p.do(method, path, token, body); code == want {
			return out
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.t.Fatalf("%s %s = %d, want %d: %v", method, path, code, want, out)
	return nil
}

// The local stack killed with SIGKILL while orders are placed at 10/s and
// the saga runs, five times at varied moments, and started again on the
// same data directory: every order answered 202 still exists, every one
// reaches COMPLETED without anyone acting, stock is conserved with nothing
// left reserved, and no order is charged twice. On MariaDB too when
// MYSQL_DSN names one.
func TestKnshopDevSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the whole stack")
	}
	bin := filepath.Join(t.TempDir(), "knshop")
	build := exec.Command("go", "build", "-o", bin, "../cmd/knshop")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	onEachMySQL(t, func(t *testing.T, mysql map[string]string) { survivesSIGKILL(t, bin, mysql) })
}

func survivesSIGKILL(t *testing.T, bin string, mysql map[string]string) {
	dir := t.TempDir()
	env := []string{"LOG_LEVEL=error", "ADMIN_EMAIL=" + adminEmail, "ADMIN_PASSWORD=" + adminPassword,
		"SANDBOX_COURIER_DELAY=200ms", "ORDER_STALL_AFTER=2s", "MYSQL_DSN=" + mysql["MYSQL_DSN"]}
	p := startKnshop(t, bin, dir, env)
	seller := p.must(201, "POST", "/api/auth/register", "", map[string]any{"email": "s@kill.test", "password": "password-s", "name": "S", "role": "seller"})["accessToken"].(string)
	reg := p.must(201, "POST", "/api/auth/register", "", map[string]any{"email": "c@kill.test", "password": "password-c", "name": "C"})
	customer, customerID := reg["accessToken"].(string), reg["user"].(map[string]any)["id"].(string)
	const initial = 1000
	product := p.must(201, "POST", "/api/products", seller, map[string]any{"name": "mug", "description": "d", "category": "c",
		"price": map[string]any{"amount": 500, "currency": "USD"}, "stock": initial})["id"].(string)
	// The orders side learns the product from the saga's events.
	p.must(202, "POST", "/api/orders", customer, map[string]any{"items": []any{map[string]any{"productId": product, "quantity": 1}},
		"shippingAddress": home, "paymentMethod": "pm_card_visa"})

	var (
		mu       sync.Mutex
		accepted []string
	)
	// Kill after varied stretches of load: during placement (early), and
	// with reservations, charges and deliveries in flight (later).
	for round, after := range []time.Duration{300 * time.Millisecond, 900 * time.Millisecond, 1500 * time.Millisecond, 2200 * time.Millisecond, 3000 * time.Millisecond} {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			tick := time.NewTicker(100 * time.Millisecond) // 10 orders/s
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					wg.Go(func() {
						code, out := p.do("POST", "/api/orders", customer, map[string]any{
							"items": []any{map[string]any{"productId": product, "quantity": 1}}, "shippingAddress": home, "paymentMethod": "pm_card_visa",
						})
						if code == 202 {
							mu.Lock()
							accepted = append(accepted, out["id"].(string))
							mu.Unlock()
						}
					})
				}
			}
		})
		time.Sleep(after)
		p.kill()
		close(stop)
		wg.Wait()
		t.Logf("round %d: killed after %v; %d orders accepted so far", round+1, after, len(accepted))
		p = startKnshop(t, bin, dir, env)
		customer = p.must(200, "POST", "/api/auth/login", "", map[string]any{"email": "c@kill.test", "password": "password-c"})["accessToken"].(string)
	}
	defer p.kill()
	if len(accepted) < 40 {
		t.Fatalf("only %d orders accepted over five rounds", len(accepted))
	}

	for _, id := range accepted {
		code, o := p.do("GET", "/api/orders/"+id, customer, nil)
		if code != 200 {
			t.Fatalf("order %s, answered 202, is gone after the crashes: %d %v", id, code, o)
		}
	}
	deadline := time.Now().Add(3 * time.Minute)
	for _, id := range accepted {
		for {
			_, o := p.do("GET", "/api/orders/"+id, customer, nil)
			if o["status"] == "COMPLETED" {
				break
			}
			if o["status"] == "CANCELLED" || time.Now().After(deadline) {
				t.Fatalf("order %s ended %v (%v), want COMPLETED", id, o["status"], o["cancelReason"])
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	admin := p.must(200, "POST", "/api/auth/login", "", map[string]any{"email": adminEmail, "password": adminPassword})["accessToken"].(string)
	// Orders committed but never answered (the kill came first) are orders
	// too: every order of the shop must end, and the completed ones are
	// what was sold.
	sold := 0
	for page := 1; ; page++ {
		// This customer's orders only: on a shared MariaDB other tests' orders are there too.
		list := p.must(200, "GET", fmt.Sprintf("/api/orders?customerId=%s&limit=100&page=%d", customerID, page), admin, nil)
		items := list["items"].([]any)
		for _, x := range items {
			id := x.(map[string]any)["id"].(string)
			var o map[string]any
			for {
				_, o = p.do("GET", "/api/orders/"+id, admin, nil)
				if o["status"] == "COMPLETED" || o["status"] == "CANCELLED" || time.Now().After(deadline) {
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
			if o["status"] != "COMPLETED" {
				t.Fatalf("order %s (never answered) ended %v, want COMPLETED", id, o["status"])
			}
			sold++
		}
		if len(items) < 100 {
			break
		}
	}
	if got := int(p.must(200, "GET", "/api/products/"+product, "", nil)["stock"].(float64)); got != initial-sold {
		t.Fatalf("stock %d, want %d - %d sold (%d answered 202)", got, initial, sold, len(accepted)+1)
	}
	for _, id := range accepted {
		pays := p.must(200, "GET", "/api/payments?orderId="+id, admin, nil)["items"].([]any)
		succeeded := 0
		for _, x := range pays {
			if st := x.(map[string]any)["status"]; st == "SUCCEEDED" {
				succeeded++
			}
		}
		if succeeded != 1 {
			t.Fatalf("order %s: %d successful payments, want 1: %v", id, succeeded, pays)
		}
	}
	t.Logf("%d orders placed across 5 kills: all COMPLETED, stock %d = %d - %d", len(accepted), initial-sold, initial, sold)
}
