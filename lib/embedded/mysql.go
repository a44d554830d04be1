package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/memory"
	"github.com/dolthub/go-mysql-server/server"
	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/sirupsen/logrus"
)

// MySQL is an in-process MySQL protocol server: go-mysql-server with its
// memory engine. It accepts user root with no password.
//
// The memory engine keeps everything in memory. Under dir it keeps a dump
// (every table, written by Save) and a journal of the transactions committed
// since (mysql_journal.go), appended before a commit is acknowledged: the
// next StartMySQL on that dir loads the dump and replays the journal, so
// every acknowledged write survives a clean stop and a crash (SIGKILL) alike.
type MySQL struct {
	journal    *journal
	generation int64 // the journal now written (see dump.Generation)
	srv        *server.Server
	addr       string
	dir        string
	log        *slog.Logger
	done       chan struct{}
	close      sync.Once
}

// StartMySQL starts go-mysql-server listening on addr (for example
// "127.0.0.1:3306", or "127.0.0.1:0"), loading what a previous server saved
// under dir. An empty dir keeps nothing between runs.
//
// go-mysql-server logs through logrus's process-wide logger, at Info for
// every connection; StartMySQL turns that logger down to errors (a process
// wide setting: nothing else in knshop uses logrus). The server's own
// failures go to the WithLogger logger, else to slog's default.
func StartMySQL(ctx context.Context, dir, addr string, opts ...Option) (*MySQL, error) {
	o := buildOptions(opts)
	logrus.SetLevel(logrus.ErrorLevel)
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("embedded: start mysql on %s: %w", addr, err)
	}
	// Not memory.NativeIndexProvider: with it, MAX() over an empty table
	// returns no row at all (measured), which breaks ordinary queries.
	pro := memory.NewDBProvider()
	engine := sqle.NewDefault(pro)
	cfg := server.Config{
		Protocol: "tcp",
		Address:  ln.Addr().String(),
		Listener: ln,
		Version:  "8.0.33",
	}
	var j *journal
	if dir != "" {
		j = newJournal()
		cfg.Options = append(cfg.Options, j.option())
	}
	srv, err := server.NewServer(cfg, engine, gmssql.NewContext, memory.NewSessionBuilder(pro), nil)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("embedded: start mysql on %s: %w", addr, err), ln.Close())
	}
	m := &MySQL{journal: j, srv: srv, addr: ln.Addr().String(), dir: dir, log: o.log, done: make(chan struct{})}
	if m.log == nil {
		m.log = slog.Default()
	}
	go func() {
		defer close(m.done)
		if err := srv.Start(); err != nil {
			m.log.Error("embedded mysql stopped", "err", err)
		}
	}()
	if err := m.recover(ctx); err != nil {
		m.stop()
		return nil, err
	}
	return m, nil
}

// Addr returns the host:port the server listens on.
func (m *MySQL) Addr() string { return m.addr }

// DSN returns a go-sql-driver DSN without a database name,
// e.g. "root@tcp(127.0.0.1:3306)/".
func (m *MySQL) DSN() string { return "root@tcp(" + m.addr + ")/" }

// Close saves the data (see Save; a failure is logged, since Close has no
// caller to tell), stops accepting connections and waits for the server.
func (m *MySQL) Close() {
	m.close.Do(func() {
		if err := m.Save(context.Background()); err != nil {
			m.log.Error("embedded mysql: data not saved (the journal still holds it)", "dir", m.dir, "err", err)
		}
		m.stop()
		if m.journal != nil {
			if err := m.journal.close(); err != nil {
				m.log.Error("embedded mysql: close the journal", "err", err)
			}
		}
	})
}

func (m *MySQL) stop() {
	if err := m.srv.Close(); err != nil {
		m.log.Error("embedded mysql: close", "err", err)
		return
	}
	<-m.done
}
