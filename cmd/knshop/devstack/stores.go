package devstack

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/knshop/knshop/lib/auth"
	"github.com/knshop/knshop/lib/deliverystore"
	"github.com/knshop/knshop/lib/embedded"
	"github.com/knshop/knshop/lib/opsdb"
	"github.com/knshop/knshop/lib/orderstore"
	"github.com/knshop/knshop/lib/paymentstore"
	"github.com/knshop/knshop/lib/sqlstore"
)

// startStores starts the embedded servers that no variable replaces and
// returns the configuration every function gets.
func (s *Stack) startStores(ctx context.Context, o Options) (map[string]string, error) {
	cfg := make(map[string]string, len(o.Env)+8)
	for k, v := range o.Env {
		cfg[k] = v
	}
	// The embedded servers report every refused command (FerretDB logs each
	// unsupported index option at WARN): only their errors reach the log.
	quiet := embedded.WithLogger(slog.New(atLeast{o.Log.Handler(), slog.LevelError}).With("part", "embedded"))
	if cfg["KAFKA_BOOTSTRAP_SERVERS"] == "" {
		k, err := embedded.StartKafka(ctx, o.KafkaAddr, quiet)
		if err != nil {
			return nil, err
		}
		s.closers = append(s.closers, func() error { k.Close(); return nil })
		cfg["KAFKA_BOOTSTRAP_SERVERS"] = strings.Join(k.Addrs(), ",")
		cfg["KNSHOP_EMBEDDED_KAFKA"] = "true"
		s.Parts = append(s.Parts, Part{"kafka", cfg["KAFKA_BOOTSTRAP_SERVERS"], "embedded (kfake)"})
	} else {
		s.Parts = append(s.Parts, Part{"kafka", cfg["KAFKA_BOOTSTRAP_SERVERS"], "KAFKA_BOOTSTRAP_SERVERS"})
	}
	if cfg["MONGODB_URI"] == "" {
		m, err := embedded.StartMongo(ctx, filepath.Join(o.DataDir, "mongo"), o.MongoAddr, quiet)
		if err != nil {
			return nil, err
		}
		s.closers = append(s.closers, func() error { m.Close(); return nil })
		cfg["MONGODB_URI"] = m.URI()
		cfg["KNSHOP_SERIALIZE_MONGODB"] = "true"
		s.Parts = append(s.Parts, Part{"mongodb", m.URI(), "embedded (FerretDB, SQLite under " + filepath.Join(o.DataDir, "mongo") + ")"})
	} else {
		s.Parts = append(s.Parts, Part{"mongodb", redact(cfg["MONGODB_URI"]), "MONGODB_URI"})
	}
	if cfg["MYSQL_DSN"] == "" {
		m, err := embedded.StartMySQL(ctx, filepath.Join(o.DataDir, "mysql"), o.MySQLAddr, quiet)
		if err != nil {
			return nil, err
		}
		s.closers = append(s.closers, func() error { m.Close(); return nil })
		cfg["MYSQL_DSN"] = m.DSN()
		if err := createDatabases(ctx, cfg); err != nil {
			return nil, err
		}
		if cfg["KNSHOP_SERIALIZE_MYSQL"] == "" {
			cfg["KNSHOP_SERIALIZE_MYSQL"] = "true"
		}
		s.Parts = append(s.Parts, Part{"mysql", m.Addr(), "embedded (go-mysql-server)"})
	} else {
		s.Parts = append(s.Parts, Part{"mysql", redact(cfg["MYSQL_DSN"]), "MYSQL_DSN"})
	}
	return cfg, nil
}

// secrets fills the keys and secrets of the local run, generated once and
// kept under dataDir so tokens and accounts survive a restart.
func secrets(dataDir string, cfg map[string]string) error {
	if cfg["JWT_PRIVATE_KEY"] == "" {
		raw, err := keep(filepath.Join(dataDir, "jwt-ed25519.key"), func() (string, error) {
			priv, err := auth.GenerateKey()
			if err != nil {
				return "", err
			}
			return auth.EnvFor(priv)["JWT_PRIVATE_KEY"], nil
		})
		if err != nil {
			return err
		}
		cfg["JWT_PRIVATE_KEY"] = raw
	}
	ac, err := auth.ConfigFrom(map[string]string{"JWT_PRIVATE_KEY": cfg["JWT_PRIVATE_KEY"]})
	if err != nil {
		return fmt.Errorf("devstack: %w", err)
	}
	cfg["JWT_PUBLIC_KEY"] = base64.StdEncoding.EncodeToString(ac.PublicKey)
	cfg["JWT_KEY_ID"] = ac.KeyID
	for key, file := range map[string]string{
		"PARTNER_WEBHOOK_SECRET": "partner-webhook.secret",
		"SANDBOX_WEBHOOK_SECRET": "sandbox-webhook.secret",
		"ADMIN_PASSWORD":         "admin-password",
	} {
		if cfg[key] != "" {
			continue
		}
		v, err := keep(filepath.Join(dataDir, file), randomSecret)
		if err != nil {
			return err
		}
		cfg[key] = v
	}
	if cfg["ADMIN_EMAIL"] == "" {
		cfg["ADMIN_EMAIL"] = "admin@knshop.local"
	}
	return nil
}

func randomSecret() (string, error) {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// keep returns the content of path, creating it with make() the first time.
func keep(path string, make func() (string, error)) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("devstack: read %s: %w", path, err)
	}
	v, err := make()
	if err != nil {
		return "", fmt.Errorf("devstack: generate %s: %w", path, err)
	}
	if err := os.WriteFile(path, []byte(v+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("devstack: write %s: %w", path, err)
	}
	return v, nil
}

// redact hides a password in a connection string for the start-up table.
func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
			return u.String()
		}
	}
	if at := strings.LastIndex(dsn, "@"); at > 0 {
		if colon := strings.Index(dsn[:at], ":"); colon >= 0 {
			return dsn[:colon+1] + "xxxxx" + dsn[at:]
		}
	}
	return dsn
}

// atLeast passes on only records at or above its level.
type atLeast struct {
	slog.Handler
	level slog.Level
}

func (h atLeast) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level && h.Handler.Enabled(ctx, l)
}

func (h atLeast) WithAttrs(as []slog.Attr) slog.Handler {
	return atLeast{h.Handler.WithAttrs(as), h.level}
}

func (h atLeast) WithGroup(name string) slog.Handler {
	return atLeast{h.Handler.WithGroup(name), h.level}
}

// createDatabases creates the areas' MySQL databases (by areadb's naming
// rule) on the embedded server before any function starts. A function
// would create its own, but it first asks for it by name, and
// go-mysql-server logs every such miss as an error: a first `make run`
// printed eight of them.
func createDatabases(ctx context.Context, cfg map[string]string) error {
	for _, area := range []string{orderstore.Database, paymentstore.Database, deliverystore.Database, opsdb.Database} {
		c, err := sqlstore.ConfigFrom(cfg, area)
		if err == nil {
			err = sqlstore.CreateDatabase(ctx, c)
		}
		if err != nil {
			return fmt.Errorf("devstack: %w", err)
		}
	}
	return nil
}
