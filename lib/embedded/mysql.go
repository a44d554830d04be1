package embedded

import (
	"context"
	"fmt"
	"net"
	"sync"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/memory"
	"github.com/dolthub/go-mysql-server/server"
	gmssql "github.com/dolthub/go-mysql-server/sql"
)

// MySQL is an in-process MySQL protocol server: go-mysql-server with its
// memory engine. It accepts user root with no password.
type MySQL struct {
	srv   *server.Server
	addr  string
	dir   string
	done  chan struct{}
	close sync.Once
}

// StartMySQL starts go-mysql-server listening on addr (for example
// "127.0.0.1:3306", or "127.0.0.1:0"). dir is where the server keeps what
// it persists between runs (see docs/local-run.md).
func StartMySQL(ctx context.Context, dir, addr string, opts ...Option) (*MySQL, error) {
	o := buildOptions(opts)
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("embedded: start mysql on %s: %w", addr, err)
	}
	pro := memory.NewDBProvider()
	engine := sqle.NewDefault(pro)
	srv, err := server.NewServer(server.Config{
		Protocol: "tcp",
		Address:  ln.Addr().String(),
		Listener: ln,
		Version:  "8.0.33",
	}, engine, gmssql.NewContext, memory.NewSessionBuilder(pro), nil)
	if err != nil {
		return nil, fmt.Errorf("embedded: start mysql on %s: %w", addr, err)
	}
	m := &MySQL{srv: srv, addr: ln.Addr().String(), dir: dir, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		if err := srv.Start(); err != nil {
			o.logger().Error("embedded mysql stopped", "err", err)
		}
	}()
	return m, nil
}

// Addr returns the host:port the server listens on.
func (m *MySQL) Addr() string { return m.addr }

// DSN returns a go-sql-driver DSN without a database name,
// e.g. "root@tcp(127.0.0.1:3306)/".
func (m *MySQL) DSN() string { return "root@tcp(" + m.addr + ")/" }

// Close stops accepting connections and waits for the accept loop to end.
func (m *MySQL) Close() {
	m.close.Do(func() {
		if err := m.srv.Close(); err == nil {
			<-m.done
		}
	})
}
