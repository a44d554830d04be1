package payment

import (
	"fmt"
	"log/slog"
	"net/url"
	"time"
)

// Gateway names PAYMENT_GATEWAY may hold.
const (
	SandboxName = "sandbox"
	StripeName  = "stripe"
)

// DefaultTimeout bounds one gateway call unless PAYMENT_TIMEOUT says otherwise.
const DefaultTimeout = 20 * time.Second

// ErrConfig reports missing or malformed gateway configuration.
var ErrConfig = fmt.Errorf("payment: bad configuration")

// Config selects and configures the gateway. Its secrets stay out of logs:
// it logs through LogValue.
type Config struct {
	// Gateway is "sandbox" (the default) or "stripe".
	Gateway string
	// StripeAPIKey is the secret key (sk_test_... against stripe-mock).
	StripeAPIKey string
	// StripeAPIBase overrides https://api.stripe.com, e.g. for stripe-mock.
	StripeAPIBase string
	// StripeWebhookSecret verifies Stripe-Signature (whsec_...); without it
	// the stripe webhook route is off.
	StripeWebhookSecret string
	// SandboxWebhookSecret verifies X-Signature of sandbox webhooks;
	// without it the sandbox webhook route is off.
	SandboxWebhookSecret string
	// Timeout bounds one gateway call.
	Timeout time.Duration
}

// ConfigFrom reads PAYMENT_GATEWAY, STRIPE_API_KEY, STRIPE_API_BASE,
// STRIPE_WEBHOOK_SECRET, SANDBOX_WEBHOOK_SECRET and PAYMENT_TIMEOUT.
func ConfigFrom(cfg map[string]string) (Config, error) {
	c := Config{
		Gateway:              cfg["PAYMENT_GATEWAY"],
		StripeAPIKey:         cfg["STRIPE_API_KEY"],
		StripeAPIBase:        cfg["STRIPE_API_BASE"],
		StripeWebhookSecret:  cfg["STRIPE_WEBHOOK_SECRET"],
		SandboxWebhookSecret: cfg["SANDBOX_WEBHOOK_SECRET"],
		Timeout:              DefaultTimeout,
	}
	if c.Gateway == "" {
		c.Gateway = SandboxName
	}
	if v := cfg["PAYMENT_TIMEOUT"]; v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return Config{}, fmt.Errorf("%w: PAYMENT_TIMEOUT=%q is not a positive duration", ErrConfig, v)
		}
		c.Timeout = d
	}
	switch c.Gateway {
	case SandboxName:
	case StripeName:
		if c.StripeAPIKey == "" {
			return Config{}, fmt.Errorf("%w: PAYMENT_GATEWAY=stripe needs STRIPE_API_KEY", ErrConfig)
		}
		if c.StripeAPIBase != "" {
			if u, err := url.Parse(c.StripeAPIBase); err != nil || u.Host == "" {
				return Config{}, fmt.Errorf("%w: STRIPE_API_BASE is not a URL", ErrConfig)
			}
		}
	default:
		return Config{}, fmt.Errorf("%w: PAYMENT_GATEWAY=%q is neither sandbox nor stripe", ErrConfig, c.Gateway)
	}
	return c, nil
}

// LogValue shows which gateway is used and which secrets are set, never
// their values.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("gateway", c.Gateway),
		slog.String("stripe_api_base", c.StripeAPIBase),
		slog.Bool("stripe_api_key_set", c.StripeAPIKey != ""),
		slog.Bool("stripe_webhook_secret_set", c.StripeWebhookSecret != ""),
		slog.Bool("sandbox_webhook_secret_set", c.SandboxWebhookSecret != ""),
		slog.Duration("timeout", c.Timeout),
	)
}

// Open returns the gateway c selects.
func Open(c Config) (Gateway, error) {
	switch c.Gateway {
	case SandboxName, "":
		return NewSandbox(), nil
	case StripeName:
		return NewStripe(c.StripeAPIKey, c.StripeAPIBase, nil), nil
	}
	return nil, fmt.Errorf("%w: unknown gateway %q", ErrConfig, c.Gateway)
}

// Webhooks returns the webhook verifiers c has secrets for, by gateway name.
func Webhooks(c Config) map[string]WebhookVerifier {
	v := map[string]WebhookVerifier{}
	if c.SandboxWebhookSecret != "" {
		v[SandboxName] = SandboxWebhook{Secret: c.SandboxWebhookSecret}
	}
	if c.StripeWebhookSecret != "" {
		v[StripeName] = StripeWebhook{Secret: c.StripeWebhookSecret}
	}
	return v
}
