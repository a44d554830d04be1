package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/events/eventstest"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/knshop/knshop/lib/events"
	"github.com/knshop/knshop/lib/sink"
)

// chromium finds a Chromium or Chrome binary: CHROME_PATH, else the usual
// names on PATH. Without one the browser tests skip, except in CI (which
// installs Debian's chromium), where they fail.
func chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("CHROME_PATH"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no Chromium on PATH: .ci/run installs Debian's chromium")
	}
	t.Skip("no Chromium on PATH (set CHROME_PATH); the storefront's browser tests need one")
	return ""
}

// artifacts is where screenshots are kept: KNSHOP_ARTIFACTS_DIR, else
// .build/artifacts/storefront in the repository.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("KNSHOP_ARTIFACTS_DIR")
	if dir == "" {
		dir = filepath.Join("..", ".build", "artifacts", "storefront")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browser is one headless Chromium tab on the shop, with helpers that act
// as a user does: type into labelled fields, click what is on screen.
type browser struct {
	t      *testing.T
	ctx    context.Context
	base   string
	shots  string
	dialog atomic.Value // the text of any JavaScript dialog that opened
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 900))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx, base: base, shots: artifacts(t)}
	// The first action starts the browser: no timeout on it.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/")); err != nil {
		t.Fatalf("browser: %v", err)
	}
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			b.dialog.Store(ev.Message)
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true}) //nolint:errcheck // the test fails on the dialog anyway
		}
	}()
	return b
}

func (b *browser) run(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.shot("failure")
		b.t.Fatalf("browser: %v", err)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("browser: %s: %v", expr, err)
	}
	return v
}

// open goes to a view of the application.
func (b *browser) open(hash string) {
	b.t.Helper()
	eval[chromedp.Void](b, fmt.Sprintf("location.hash = %q", hash))
}

// waitFor polls a JavaScript expression until it is true.
func (b *browser) waitFor(what, expr string) {
	b.t.Helper()
	b.waitReloading(what, expr, nil)
}

// waitReloading polls a JavaScript expression until it is true, calling
// reload (when given) between tries, for a view that does not refresh by
// itself.
func (b *browser) waitReloading(what, expr string, reload func()) {
	b.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](fmt.Sprintf("!!(%s)", expr))); err == nil && ok {
			return
		}
		if reload == nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		time.Sleep(300 * time.Millisecond)
		reload()
	}
	notice, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.getElementById('notice').innerText`))
	body, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.getElementById('view').innerText`))
	b.shot("timeout")
	b.t.Fatalf("browser: waited 30s for %s\nnotice: %s\npage: %s", what, notice, body)
}

// waitText waits until the view shows text.
func (b *browser) waitText(text string) {
	b.t.Helper()
	b.waitFor("the page to show "+text, fmt.Sprintf("document.getElementById('view').innerText.includes(%q)", text))
}

// fill types into the control labelled label (by its <label> or its
// aria-label) within the view.
func (b *browser) fill(label, value string) {
	b.t.Helper()
	sel := b.mark(fmt.Sprintf(`(() => {
		const want = %q;
		for (const l of document.querySelectorAll('#view label')) if (l.textContent.trim() === want) return document.getElementById(l.htmlFor);
		return document.querySelector('#view [aria-label="' + want + '"]');
	})()`, label))
	if eval[string](b, fmt.Sprintf("document.querySelector(%q).tagName", sel)) == "SELECT" {
		b.run(chromedp.SetValue(sel, value))
		return
	}
	// Emptied first (chromedp's Clear cannot empty a textarea with no text).
	eval[chromedp.Void](b, fmt.Sprintf("document.querySelector(%q).value = ''", sel))
	b.run(chromedp.SendKeys(sel, value))
	if got := eval[string](b, fmt.Sprintf("document.querySelector(%q).value", sel)); got != value {
		b.t.Fatalf("browser: typed %q into %s, it holds %q", value, label, got)
	}
}

// click clicks the button or link whose visible text is text: in the view
// if there is one there, else in the menu.
func (b *browser) click(text string) {
	b.t.Helper()
	sel := b.mark(fmt.Sprintf(`(() => {
		const find = (scope) => [...document.querySelectorAll(scope + ' button, ' + scope + ' a')].find((e) => e.textContent.trim() === %q && e.offsetParent !== null);
		return find('#view') || find('body');
	})()`, text))
	b.run(chromedp.Click(sel))
}

// mark tags the element a JavaScript expression finds, so chromedp can
// act on it with a real click or real keys, and returns its selector.
func (b *browser) mark(find string) string {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](fmt.Sprintf(`(() => {
			for (const e of document.querySelectorAll('[data-e2e]')) e.removeAttribute('data-e2e');
			const el = %s;
			if (!el) return false;
			el.setAttribute('data-e2e', 'target');
			return true;
		})()`, find)))
		if err == nil && ok {
			return `[data-e2e="target"]`
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.shot("missing")
	b.t.Fatalf("browser: nothing on the page matches %s", find)
	return ""
}

func (b *browser) shot(name string) {
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(b.shots, strings.ReplaceAll(b.t.Name(), "/", "_")+"-"+name+".png")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
	}
}

// signIn signs in through the form and waits for the menu to name the user.
func (b *browser) signIn(email, password, name string) {
	b.t.Helper()
	b.open("#/signin")
	b.fill("Email", email)
	b.fill("Password", password)
	b.click("Sign in")
	b.waitFor("signed in as "+name, fmt.Sprintf("document.getElementById('nav').innerText.includes(%q)", name))
}

func (b *browser) signOut() {
	b.t.Helper()
	b.click("Sign out")
	b.waitFor("the signed-out menu", `document.querySelector('#nav a[href="#/signin"]')`)
}

// Every control on the view has a label a screen reader can read.
func (b *browser) checkLabels(view string) {
	b.t.Helper()
	unlabelled := eval[[]string](b, `[...document.querySelectorAll('#view input, #view select, #view textarea')]
		.filter((c) => c.labels.length === 0 && !c.getAttribute('aria-label')).map((c) => c.name)`)
	if len(unlabelled) > 0 {
		b.t.Errorf("%s: controls without a label: %v", view, unlabelled)
	}
}

// TestStorefrontInABrowser drives a real headless Chromium through the
// storefront: a customer signs up, searches, fills the cart and checks out
// with the sandbox Visa, and watches the order reach COMPLETED on screen;
// a seller adds a product the customer then finds; an admin replays a dead
// letter; a product named like markup shows as text; and the pages fit a
// phone's screen.
func TestStorefrontInABrowser(t *testing.T) {
	chromium(t) // skip early, before the stack starts
	s := startShop(t, nil)
	seller, _ := s.register("seller@browser.test", "seller")
	s.addProduct(seller, "Knative Mug", 1250, 10)
	xss := "<img src=x onerror=alert(1)>"
	s.addProduct(seller, xss, 100, 1)

	b := newBrowser(t, s.stack.GatewayURL)
	var orderHash string
	t.Run("customer signs up, searches, checks out and sees COMPLETED", func(t *testing.T) {
		b.t = t
		b.open("#/signup")
		b.checkLabels("sign up")
		b.fill("Name", "Bea Browser")
		b.fill("Email", "bea@browser.test")
		b.fill("Password", "password-bea")
		b.click("Create account")
		b.waitFor("the signed-in menu", `document.getElementById('nav').innerText.includes('Bea Browser')`)

		b.open("#/")
		b.fill("Search", "Knative")
		b.click("Search")
		b.waitFor("the search result", `[...document.querySelectorAll('#view .card h2')].some((h) => h.textContent === 'Knative Mug')`)
		b.shot("search")
		b.click("Add to cart")
		b.waitFor("the cart notice", `document.getElementById('notice').innerText.includes('Added 1 × Knative Mug')`)

		b.click("Cart")
		b.waitText("Checkout")
		b.checkLabels("cart")
		b.fill("Address line 1", "1 Browser Way")
		b.fill("City", "Springfield")
		b.fill("Postal code", "12345")
		b.fill("Country", "US")
		b.fill("Payment card", "pm_card_visa")
		b.shot("checkout")
		b.click("Place order ($12.50)")
		b.waitFor("the order page", `location.hash.startsWith('#/orders/')`)
		// Nobody reloads: the page follows the saga by itself.
		b.waitFor("the order to complete on screen", `document.querySelector('#view [role=status]').innerText.includes('COMPLETED')`)
		steps := eval[[]string](b, `[...document.querySelectorAll('ol.timeline li strong')].map((e) => e.textContent)`)
		for _, want := range []string{"PENDING", "PAID", "SHIPPING", "IN_TRANSIT", "COMPLETED"} {
			if !strings.Contains(strings.Join(steps, " "), want) {
				t.Errorf("the timeline on screen %v lacks %s", steps, want)
			}
		}
		b.shot("completed")
		orderHash = eval[string](b, `location.hash`)
	})

	t.Run("the customer reviews the mug and returns a unit", func(t *testing.T) {
		b.t = t
		b.click("Review Knative Mug")
		b.waitText("Write a review")
		b.checkLabels("product")
		b.fill("Rating", "4")
		b.fill("Title", "Solid mug")
		b.fill("Review", "Holds tea.")
		b.click("Post review")
		b.waitFor("the review in the list", `[...document.querySelectorAll('#view .review strong')].some((e) => e.textContent === 'Solid mug')`)
		// rate-product keeps the rating from REVIEW_ADDED, a moment later.
		mug := eval[string](b, `location.hash`)
		b.waitReloading("the product's rating to show the review", `document.querySelector('#view .stars').textContent.includes('★ 4.0 (1)')`, func() {
			// Away and back: the product page reads the product again.
			b.open("#/cart")
			b.waitFor("the cart", `document.querySelector('#view h1')?.textContent === 'Your cart'`)
			b.open(mug)
			b.waitFor("the product again", `document.querySelector('#view h1')?.textContent === 'Knative Mug'`)
		})
		b.shot("reviewed")

		b.open(orderHash)
		b.waitText("Return items")
		b.fill("Units of Knative Mug to return", "1")
		b.fill("Reason", "Chipped")
		b.click("Request return")
		b.waitFor("the requested return", `[...document.querySelectorAll('#returns-h ~ ul .badge')].some((e) => e.textContent === 'REQUESTED')`)
		b.shot("return-requested")
	})

	t.Run("a product named like markup renders as text", func(t *testing.T) {
		b.t = t
		b.open("#/?q=" + strings.ReplaceAll("onerror", " ", "+"))
		b.waitFor("the odd product", `document.querySelector('#view .card h2 a')`)
		name := eval[string](b, `document.querySelector('#view .card h2 a').textContent`)
		injected := eval[int](b, `document.querySelectorAll('#view img[src="x"]').length`)
		if name != xss || injected != 0 {
			t.Fatalf("the product shows as %q with %d injected images", name, injected)
		}
		b.click(xss)
		b.waitFor("its page", `document.querySelector('#view h1').textContent === `+fmt.Sprintf("%q", xss))
		time.Sleep(300 * time.Millisecond)
		if d := b.dialog.Load(); d != nil {
			t.Fatalf("a script ran: dialog %q", d)
		}
		b.shot("markup-as-text")
	})

	t.Run("the shop fits a phone's screen", func(t *testing.T) {
		b.t = t
		b.run(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
		defer b.run(chromedp.EmulateViewport(1280, 900))
		for view, heading := range map[string]string{"#/": "Shop", "#/cart": "Your cart", "#/orders": "Your orders"} {
			b.open(view)
			b.waitFor("the view "+view, fmt.Sprintf("document.querySelector('#view h1')?.textContent === %q", heading))
			time.Sleep(200 * time.Millisecond)
			if eval[bool](b, `document.documentElement.scrollWidth > window.innerWidth + 1`) {
				b.shot("phone-overflow")
				t.Errorf("%s is wider than a 390px screen", view)
			}
		}
		b.open("#/")
		b.waitFor("the shop", `document.querySelector('#view .card')`)
		b.shot("phone")
	})

	t.Run("a seller adds a product that the customer then sees", func(t *testing.T) {
		b.t = t
		b.signOut()
		// Signed in with the keyboard only: type, Tab, type, Enter.
		b.open("#/signin")
		sel := b.mark(`document.querySelector('#view input[name=email]')`)
		b.run(chromedp.Focus(sel),
			chromedp.KeyEvent("seller@browser.test"), chromedp.KeyEvent(kb.Tab),
			chromedp.KeyEvent("password-seller"), chromedp.KeyEvent(kb.Enter))
		b.waitFor("the seller's page", `location.hash === '#/seller'`)
		b.click("Add a product")
		b.waitText("Add a product")
		b.checkLabels("new product")
		b.fill("Name", "Seller Lamp")
		b.fill("Description", "A lamp for sellers")
		b.fill("Category", "lamps")
		b.fill("Price", "19.90")
		b.fill("Stock", "4")
		b.click("Add product")
		b.waitFor("the seller's list", `location.hash === '#/seller' && document.getElementById('view').innerText.includes('Seller Lamp')`)
		b.shot("seller")
		b.signOut()

		b.signIn("bea@browser.test", "password-bea", "Bea Browser")
		b.open("#/?category=lamps")
		b.waitFor("the new product in the shop", `[...document.querySelectorAll('#view .card h2')].some((h) => h.textContent === 'Seller Lamp')`)
		b.shot("customer-sees-lamp")
	})

	t.Run("problems are explained", func(t *testing.T) {
		b.t = t
		b.signOut()
		b.open("#/signin")
		b.fill("Email", "bea@browser.test")
		b.fill("Password", "not-her-password")
		b.click("Sign in")
		b.waitFor("the problem on screen", `document.getElementById('notice').innerText.startsWith('Please sign in:')`)
		detail := eval[string](b, `document.getElementById('notice').innerText`)
		if len(detail) < len("Please sign in: x") {
			t.Fatalf("notice %q says too little", detail)
		}
		b.shot("problem")
	})

	t.Run("an admin replays a dead letter", func(t *testing.T) {
		b.t = t
		// An ORDER_CANCELLED whose order id can never be a product field
		// name: release-stock refuses it for good, so it is dead-lettered.
		e := eventstest.Build(t, events.OrderCancelledData{
			OrderID: "not.an.id", CustomerID: "nobody", Reason: events.ReasonCustomerRequest, CancelledAt: time.Now().UTC()})
		if err := sink.NewHTTP(s.stack.BrokerURL).Send(context.Background(), e); err != nil {
			t.Fatal(err)
		}
		b.signIn(adminEmail, adminPassword, "(admin)")
		b.waitFor("the dead letters", `location.hash === '#/admin/dead-letters'`)
		b.reloadDeadLetters()
		b.waitReloading("the dead letter", `[...document.querySelectorAll('#view td')].some((td) => td.textContent === 'ORDER_CANCELLED')`, b.reloadDeadLetters)
		b.shot("dead-letters")
		b.click("Replay")
		b.waitFor("the replay notice", `document.getElementById('notice').innerText.includes('Replayed ORDER_CANCELLED')`)
		// The replayed event reaches release-stock again, fails again for
		// good and comes back: a second arrival of the same letter.
		b.waitReloading("a second arrival", `document.querySelector('#view tbody tr')?.children[3].textContent === '2'`, b.reloadDeadLetters)
		b.shot("replayed")

		// The customer's return arrives: received, restocked and refunded.
		b.open("#/admin/returns")
		b.waitText("Return …")
		b.click("Receive")
		b.waitFor("the receive notice", `document.getElementById('notice').innerText.includes('Return received')`)
		admin := s.login(adminEmail, adminPassword)
		defer b.shot("admin-done")
		eventually(t, "the return is refunded", func() string {
			out := s.must(200, "GET", "/api/returns", admin, nil)
			items := out["items"].([]any)
			if len(items) != 1 || items[0].(map[string]any)["status"] != "REFUNDED" {
				return describe(items)
			}
			return ""
		})
	})

	t.Run("an admin follows an order's timeline and makes a user a courier", func(t *testing.T) {
		b.t = t
		b.click("Orders")
		b.waitFor("all orders", `document.querySelector('#view h1')?.textContent === 'All orders' && document.querySelector('#view tbody a')`)
		b.run(chromedp.Click(`#view tbody tr:last-child a`))
		b.waitFor("the order's timeline", `location.hash.startsWith('#/admin/orders/') && [...document.querySelectorAll('ol.timeline li strong')].some((e) => e.textContent.startsWith('delivery: ORDER_PLACED'))`)
		b.shot("admin-timeline")

		_, cora := s.register("cora@browser.test", "customer")
		b.open("#/admin/users?id=" + cora)
		b.waitFor("Cora's profile", `document.querySelector('#view h2')?.textContent === 'cora'`)
		b.checkLabels("users")
		b.fill("Role", "courier")
		b.click("Change role")
		b.waitFor("the role notice", `document.getElementById('notice').innerText.includes('Role changed')`)
		b.signOut()
		b.signIn("cora@browser.test", "password-customer", "(courier)")
		b.waitFor("the courier's deliveries", `location.hash === '#/courier' && document.getElementById('view').innerText.includes('My deliveries')`)
		b.shot("courier")
	})
}

// reloadDeadLetters shows the dead letters view afresh and waits until it
// has drawn its list.
func (b *browser) reloadDeadLetters() {
	b.t.Helper()
	b.open("#/admin/returns")
	b.waitFor("the returns view", `document.querySelector('#view h1')?.textContent === 'Returns'`)
	b.open("#/admin/dead-letters")
	b.waitFor("the dead letters view", `document.querySelector('#view h1')?.textContent === 'Dead letters' && document.querySelector('#view table, #view p:not(.muted):not(.loading)')`)
}

// BenchmarkStorefrontFirstRender loads the storefront's shop page in a
// fresh browser profile (empty cache) each iteration and reports the
// bytes the browser fetched for the page itself (HTML, script, style, icon;
// not the API answers), the first contentful paint, and when the first view
// (the product list) was rendered, in milliseconds from navigation start.
func BenchmarkStorefrontFirstRender(b *testing.B) {
	path := chromium(b)
	s := startShop(b, nil)
	seller, _ := s.register("seller@bench.test", "seller")
	for i := range 12 {
		s.addProduct(seller, fmt.Sprintf("Bench product %d", i), 100+i, 5)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	browserCtx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	if err := chromedp.Do(browserCtx); err != nil {
		b.Fatal(err)
	}
	type sample struct {
		Bytes float64 `json:"bytes"`
		FCP   float64 `json:"fcp"`
		View  float64 `json:"view"`
	}
	var sum sample
	b.ResetTimer()
	for range b.N {
		tab, closeTab := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
		err := chromedp.Do(tab, chromedp.Navigate(s.stack.GatewayURL+"/"))
		var m sample
		for err == nil {
			m, err = chromedp.Run(tab, chromedp.Evaluate[sample](`(() => {
				const v = performance.getEntriesByName('knshop:first-view')[0];
				const f = performance.getEntriesByName('first-contentful-paint')[0];
				if (!v || !f || !document.querySelector('#view .card')) return {bytes: 0, fcp: 0, view: 0};
				const nav = performance.getEntriesByType('navigation')[0];
				const files = performance.getEntriesByType('resource').filter((r) => !new URL(r.name).pathname.startsWith('/api/'));
				return {bytes: nav.transferSize + files.reduce((n, r) => n + r.transferSize, 0), fcp: f.startTime, view: v.startTime};
			})()`))
			if m.View > 0 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		closeTab()
		if err != nil {
			b.Fatal(err)
		}
		sum.Bytes += m.Bytes
		sum.FCP += m.FCP
		sum.View += m.View
	}
	n := float64(b.N)
	b.ReportMetric(sum.Bytes/n, "page-bytes")
	b.ReportMetric(sum.FCP/n, "fcp-ms")
	b.ReportMetric(sum.View/n, "first-view-ms")
}
