package embedded

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
)

// The embedded MySQL's storage (mysql_store.go, mysql_table.go).
//
// go-mysql-server parses, plans and runs the SQL; its memory engine, which
// knshop used before, keeps a table as a slice that every commit copies and
// re-sorts and every lookup scans, so each statement cost in proportion to
// the table's rows (BenchmarkMySQLCommitAtSize: 114.6 commits/s at 1,000
// rows, 2.54 at 50,000). This storage keeps each table, and each of its
// indexes, in a copy-on-write B-tree (github.com/google/btree): a lookup,
// an insert, an update and a commit cost O(log n).
//
// Transactions. Writers to a database take turns: the first write of a
// transaction waits for the database's write turn and holds it until the
// transaction ends, and writes to private copies of the tables it changes
// (a B-tree clone costs O(1)); COMMIT publishes them, ROLLBACK drops them.
// Readers never wait: they read what was last committed, or, in a
// transaction that wrote, its own copies. A statement that fails is undone
// alone (a snapshot per statement). DDL is not transactional, as in MySQL.

// lockWait is how long a write waits for another transaction's turn on
// the same database before it fails, as innodb_lock_wait_timeout would.
const lockWait = 50 * time.Second

// errLockWait is returned when a write waited lockWait for its turn.
var errLockWait = errors.New("embedded: lock wait timeout exceeded; try restarting transaction")

// storage is the sql.MutableDatabaseProvider of the embedded MySQL.
type storage struct {
	mu  sync.RWMutex
	dbs map[string]*database // by lower-case name
}

func newStorage() *storage { return &storage{dbs: map[string]*database{}} }

var _ sql.MutableDatabaseProvider = (*storage)(nil)

// Database implements sql.DatabaseProvider.
func (s *storage) Database(_ *sql.Context, name string) (sql.Database, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if db, ok := s.dbs[strings.ToLower(name)]; ok {
		return db, nil
	}
	return nil, sql.ErrDatabaseNotFound.New(name)
}

// HasDatabase implements sql.DatabaseProvider.
func (s *storage) HasDatabase(_ *sql.Context, name string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.dbs[strings.ToLower(name)]
	return ok
}

// AllDatabases implements sql.DatabaseProvider.
func (s *storage) AllDatabases(*sql.Context) []sql.Database {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]sql.Database, 0, len(s.dbs))
	for _, db := range s.dbs {
		out = append(out, db)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

// CreateDatabase implements sql.MutableDatabaseProvider.
func (s *storage) CreateDatabase(_ *sql.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(name)
	if _, ok := s.dbs[key]; ok {
		return sql.ErrDatabaseExists.New(name)
	}
	s.dbs[key] = &database{name: name, tables: map[string]*table{}, turn: make(chan struct{}, 1)}
	return nil
}

// DropDatabase implements sql.MutableDatabaseProvider.
func (s *storage) DropDatabase(_ *sql.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(name)
	if _, ok := s.dbs[key]; !ok {
		return sql.ErrDatabaseNotFound.New(name)
	}
	delete(s.dbs, key)
	return nil
}

// database is one database: its tables, and the write turn its
// transactions take.
type database struct {
	name string
	mu   sync.RWMutex
	// tables by lower-case name.
	tables map[string]*table
	// turn holds a token while a transaction that wrote here is open.
	turn chan struct{}
}

var (
	_ sql.Database     = (*database)(nil)
	_ sql.TableCreator = (*database)(nil)
	_ sql.TableDropper = (*database)(nil)
)

// Name implements sql.Nameable.
func (d *database) Name() string { return d.name }

// GetTableInsensitive implements sql.Database.
func (d *database) GetTableInsensitive(_ *sql.Context, name string) (sql.Table, bool, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	t, ok := d.tables[strings.ToLower(name)]
	if !ok {
		return nil, false, nil
	}
	return t, true, nil
}

// GetTableNames implements sql.Database.
func (d *database) GetTableNames(*sql.Context) ([]string, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]string, 0, len(d.tables))
	for _, t := range d.tables {
		out = append(out, t.name)
	}
	sort.Strings(out)
	return out, nil
}

// CreateTable implements sql.TableCreator.
func (d *database) CreateTable(ctx *sql.Context, name string, schema sql.PrimaryKeySchema, collation sql.CollationID, comment string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	key := strings.ToLower(name)
	if _, ok := d.tables[key]; ok {
		return sql.ErrTableAlreadyExists.New(name)
	}
	t, err := newTable(ctx, d, name, schema, collation, comment)
	if err != nil {
		return err
	}
	d.tables[key] = t
	return nil
}

// DropTable implements sql.TableDropper.
func (d *database) DropTable(_ *sql.Context, name string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	key := strings.ToLower(name)
	if _, ok := d.tables[key]; !ok {
		return sql.ErrTableNotFound.New(name)
	}
	delete(d.tables, key)
	return nil
}

// session is a connection's session: go-mysql-server's base session and
// the transaction's private state in each database it wrote to.
type session struct {
	*sql.BaseSession
	mu     sync.Mutex
	writes map[*database]*txWrites
	// statement holds, per table, the copy before the current statement
	// changed it.
	statement map[*table]statementSnapshot
}

// txWrites is what an open transaction changed in one database: its
// private copy of each table it wrote to.
type txWrites struct {
	tables map[*table]*tableData
}

var (
	_ sql.TransactionSession    = (*session)(nil)
	_ sql.LifecycleAwareSession = (*session)(nil)
)

// newSessionBuilder builds the sessions of the embedded server's connections.
func newSessionBuilder() func(context.Context, *mysql.Conn, string) (sql.Session, error) {
	return func(_ context.Context, conn *mysql.Conn, addr string) (sql.Session, error) {
		var client sql.Client
		if u, ok := conn.UserData.(sql.MysqlConnectionUser); ok {
			client = sql.Client{Address: u.Host, User: u.User, Capabilities: conn.Capabilities}
		}
		return &session{BaseSession: sql.NewBaseSessionWithClientServer(addr, client, conn.ConnectionID)}, nil
	}
}

// sessionOf returns ctx's session; it is always one of ours.
func sessionOf(ctx *sql.Context) *session {
	s, ok := ctx.Session.(*session)
	if !ok {
		panic(fmt.Sprintf("embedded: a session of type %T reached the storage", ctx.Session))
	}
	return s
}

// inTx is the transaction's copy of t, if it wrote to t.
func (s *session) inTx(t *table) (*tableData, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.writes[t.db]
	if !ok {
		return nil, false
	}
	td, ok := w.tables[t]
	return td, ok
}

// forWrite returns the transaction's copy of t, taking t's database's turn
// and copying what is committed on the first write.
func (s *session) forWrite(ctx context.Context, t *table) (*tableData, error) {
	s.mu.Lock()
	w, ok := s.writes[t.db]
	s.mu.Unlock()
	if !ok {
		timer := time.NewTimer(lockWait)
		defer timer.Stop()
		select {
		case t.db.turn <- struct{}{}:
		case <-timer.C:
			return nil, errLockWait
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		w = &txWrites{tables: map[*table]*tableData{}}
		s.mu.Lock()
		if s.writes == nil {
			s.writes = map[*database]*txWrites{}
		}
		s.writes[t.db] = w
		s.mu.Unlock()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	td, ok := w.tables[t]
	if !ok {
		td = t.committed().clone()
		w.tables[t] = td
	}
	return td, nil
}

// setTx replaces the transaction's copy of t (a failed statement undone).
func (s *session) setTx(t *table, td *tableData) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w, ok := s.writes[t.db]; ok {
		w.tables[t] = td
	}
}

// end publishes (commit) or drops the transaction's copies and gives the
// databases' turns back.
func (s *session) end(commit bool) {
	s.mu.Lock()
	writes := s.writes
	s.writes, s.statement = nil, nil
	s.mu.Unlock()
	for db, w := range writes {
		if commit {
			for t, td := range w.tables {
				t.publish(td)
			}
		}
		<-db.turn
	}
}

// StartTransaction implements sql.TransactionSession.
func (s *session) StartTransaction(_ *sql.Context, c sql.TransactionCharacteristic) (sql.Transaction, error) {
	s.end(true) // as in MySQL, a new transaction commits an open one
	return &transaction{readOnly: c == sql.ReadOnly}, nil
}

// CommitTransaction implements sql.TransactionSession.
func (s *session) CommitTransaction(*sql.Context, sql.Transaction) error {
	s.end(true)
	return nil
}

// Rollback implements sql.TransactionSession.
func (s *session) Rollback(*sql.Context, sql.Transaction) error {
	s.end(false)
	return nil
}

// CreateSavepoint implements sql.TransactionSession; knshop uses none.
func (s *session) CreateSavepoint(*sql.Context, sql.Transaction, string) error {
	return errors.New("embedded: savepoints are not supported")
}

// RollbackToSavepoint implements sql.TransactionSession.
func (s *session) RollbackToSavepoint(*sql.Context, sql.Transaction, string) error {
	return errors.New("embedded: savepoints are not supported")
}

// ReleaseSavepoint implements sql.TransactionSession.
func (s *session) ReleaseSavepoint(*sql.Context, sql.Transaction, string) error {
	return errors.New("embedded: savepoints are not supported")
}

// CommandBegin implements sql.LifecycleAwareSession.
func (s *session) CommandBegin() error { return nil }

// CommandEnd implements sql.LifecycleAwareSession.
func (s *session) CommandEnd() {}

// SessionEnd implements sql.LifecycleAwareSession: a connection that goes
// away in a transaction rolls it back.
func (s *session) SessionEnd() { s.end(false) }

type transaction struct{ readOnly bool }

func (t *transaction) String() string   { return "embedded transaction" }
func (t *transaction) IsReadOnly() bool { return t.readOnly }

// statementSnapshot is a table's copy as it was before the statement (pid)
// changed it.
type statementSnapshot struct {
	pid uint64
	td  *tableData
}

// snapshotStatement remembers, at statement pid's first change to t, the
// copy td as it is, so a failure can undo the statement alone.
func (s *session) snapshotStatement(pid uint64, t *table, td *tableData) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.statement == nil {
		s.statement = map[*table]statementSnapshot{}
	}
	if snap, ok := s.statement[t]; ok && snap.pid == pid {
		return
	}
	s.statement[t] = statementSnapshot{pid: pid, td: td.clone()}
}

// undoStatement puts t back as it was before statement pid.
func (s *session) undoStatement(pid uint64, t *table) {
	s.mu.Lock()
	snap, ok := s.statement[t]
	s.mu.Unlock()
	if ok && snap.pid == pid {
		s.setTx(t, snap.td.clone())
	}
}
