package embedded

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// Mongo is an in-process MongoDB protocol server: FerretDB v1 storing its
// data in SQLite files.
type Mongo struct {
	uri     string
	cancel  context.CancelFunc
	done    chan struct{}
	indexed chan struct{} // closed when the _id indexer has stopped
}

// StartMongo starts FerretDB listening on addr (for example
// "127.0.0.1:27017", or "127.0.0.1:0"), keeping its SQLite files under dir,
// which is created if missing. Data survives a restart on the same dir.
func StartMongo(ctx context.Context, dir, addr string, opts ...Option) (*Mongo, error) {
	o := buildOptions(opts)
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("embedded: start mongo: %w", err)
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return nil, fmt.Errorf("embedded: start mongo: %w", err)
	}
	f, err := ferretdb.New(&ferretdb.Config{
		Listener: ferretdb.ListenerConfig{TCP: addr},
		Logger:   o.logger(),
		Handler:  "sqlite",
		// WAL (FerretDB's default) with synchronous=NORMAL: a commit is
		// written to the WAL without an fsync, so it survives the process
		// being killed (the kernel holds it) though not a power cut, the
		// same promise as the embedded MySQL's journal; with FULL every
		// write waited for the disk (measured in docs/benchmarks.md).
		SQLiteURL: "file:" + abs + "/?_pragma=synchronous(normal)",
	})
	if err != nil {
		return nil, fmt.Errorf("embedded: start mongo on %s: %w", addr, err)
	}
	// The server lives until Close, not until the caller's ctx ends.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m := &Mongo{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		if err := f.Run(runCtx); err != nil {
			o.logger().Error("embedded mongo stopped", "err", err)
		}
	}()
	// MongoDBURI waits until the listener is bound.
	m.uri = f.MongoDBURI()
	m.indexed = make(chan struct{})
	go func() {
		defer close(m.indexed)
		idIndexer{dir: abs, log: o.logger(), period: 2 * time.Second}.run(runCtx)
	}()
	return m, nil
}

// URI returns the mongodb:// connection string of the server.
func (m *Mongo) URI() string { return m.uri }

// Close stops the server and waits until its files are closed.
func (m *Mongo) Close() {
	m.cancel()
	<-m.done
	<-m.indexed
}
