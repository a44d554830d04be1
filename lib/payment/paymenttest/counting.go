package paymenttest

import (
	"context"
	"sync"

	"github.com/knshop/knshop/lib/payment"
)

// Counting wraps a gateway for tests that count money moving: the calls of
// Charge and Refund, the distinct transactions charged successfully (money
// actually taken) and the distinct refunds made. Fail makes every call
// fail until it is given nil.
type Counting struct {
	payment.Gateway
	mu          sync.Mutex
	chargeCalls int
	refundCalls int
	taken       map[string]bool
	refunds     map[string]bool
	failing     error
}

// NewCounting wraps gw.
func NewCounting(gw payment.Gateway) *Counting {
	return &Counting{Gateway: gw, taken: map[string]bool{}, refunds: map[string]bool{}}
}

// Charge counts the call and, unless failing, charges through the wrapped
// gateway.
func (c *Counting) Charge(ctx context.Context, req payment.ChargeRequest) (payment.ChargeResult, error) {
	c.mu.Lock()
	c.chargeCalls++
	failing := c.failing
	c.mu.Unlock()
	if failing != nil {
		return payment.ChargeResult{}, failing
	}
	res, err := c.Gateway.Charge(ctx, req)
	if err == nil && res.Outcome == payment.Succeeded {
		c.mu.Lock()
		c.taken[res.TransactionID] = true
		c.mu.Unlock()
	}
	return res, err
}

// Refund counts the call and, unless failing, refunds through the wrapped
// gateway.
func (c *Counting) Refund(ctx context.Context, req payment.RefundRequest) (payment.RefundResult, error) {
	c.mu.Lock()
	c.refundCalls++
	failing := c.failing
	c.mu.Unlock()
	if failing != nil {
		return payment.RefundResult{}, failing
	}
	res, err := c.Gateway.Refund(ctx, req)
	if err == nil {
		c.mu.Lock()
		c.refunds[res.RefundID] = true
		c.mu.Unlock()
	}
	return res, err
}

// Fail makes every later call return err; nil heals the gateway.
func (c *Counting) Fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failing = err
}

// Charges returns how often Charge was called and how many distinct
// transactions took money.
func (c *Counting) Charges() (calls, taken int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.chargeCalls, len(c.taken)
}

// Refunds returns how often Refund was called and how many distinct
// refunds were made.
func (c *Counting) Refunds() (calls, refunds int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.refundCalls, len(c.refunds)
}
