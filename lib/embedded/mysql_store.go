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

// The embedded MySQL's storage (mysql_store.go, mysql_table.go,
// mysql_index.go).
//
// go-mysql-server parses, plans and runs the SQL; its memory engine, which
// knshop used before, keeps a table as a slice that every commit copies and
// re-sorts and every lookup scans, so each statement cost in proportion to
// the table's rows (BenchmarkMySQLCommitAtSize: 114.6 commits/s at 1,000
// rows, 2.54 at 50,000). This storage keeps each table, and each of its
// indexes, in a copy-on-write B-tree (github.com/google/btree): a lookup,
// an insert, an update and a commit cost O(log n).
//
// Transactions. Writers to a database take turns: the first writing
// statement of a transaction waits for the database's write turn (before
// it reads the rows it changes) and holds it until the transaction ends,
// and writes to private copies of the tables it changes (a B-tree clone
// costs O(1)); COMMIT publishes them, ROLLBACK drops them. A locking read
// (SELECT ... FOR UPDATE) takes the turn too, before it reads, and reads
// the transaction's copy (table.readable).
// Other readers never wait: a statement reads the tables as the last commit
// before its first read left them (whole commits, never half of one), or,
// in a transaction that wrote, its own copies. A statement that fails is
// undone alone (a snapshot per statement). DDL is not transactional, as in
// MySQL.

// lockWait is how long a write waits for another transaction's turn on
// the same database before it fails, as innodb_lock_wait_timeout would.
const lockWait = 50 * time.Second

// errLockWait is returned when a write waited lockWait for its turn.
var errLockWait = errors.New("embedded: lock wait timeout exceeded; try restarting transaction")

// named holds values by case-insensitive name: a storage's databases, a
// database's tables.
type named[T any] struct {
	mu sync.RWMutex
	m  map[string]T // by lower-case name
}

func (n *named[T]) get(name string) (T, bool) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	v, ok := n.m[strings.ToLower(name)]
	return v, ok
}

// each calls f with every value, in no order.
func (n *named[T]) each(f func(T)) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	for _, v := range n.m {
		f(v)
	}
}

// all is every value, ordered by name.
func (n *named[T]) all() []T {
	n.mu.RLock()
	defer n.mu.RUnlock()
	keys := make([]string, 0, len(n.m))
	for k := range n.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]T, len(keys))
	for i, k := range keys {
		out[i] = n.m[k]
	}
	return out
}

// add adds the value create returns, or returns taken if name is in use.
func (n *named[T]) add(name string, taken error, create func() T) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	key := strings.ToLower(name)
	if _, ok := n.m[key]; ok {
		return taken
	}
	if n.m == nil {
		n.m = map[string]T{}
	}
	n.m[key] = create()
	return nil
}

// drop removes name, or returns missing if it is not there.
func (n *named[T]) drop(name string, missing error) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	key := strings.ToLower(name)
	if _, ok := n.m[key]; !ok {
		return missing
	}
	delete(n.m, key)
	return nil
}

// storage is the sql.MutableDatabaseProvider of the embedded MySQL.
type storage struct{ dbs named[*database] }

var _ sql.MutableDatabaseProvider = (*storage)(nil)

// Database implements sql.DatabaseProvider.
func (s *storage) Database(_ *sql.Context, name string) (sql.Database, error) {
	if db, ok := s.dbs.get(name); ok {
		return db, nil
	}
	if strings.EqualFold(name, "mysql") {
		return nil, errNoMySQLDatabase
	}
	return nil, sql.ErrDatabaseNotFound.New(name)
}

// errNoMySQLDatabase answers go-mysql-server's question for the privilege
// database `mysql`, which it asks while planning every statement. Made
// once: making it takes a stack trace, 1.4 % of the process's CPU under
// load (docs/benchmarks.md).
var errNoMySQLDatabase = sql.ErrDatabaseNotFound.New("mysql")

// HasDatabase implements sql.DatabaseProvider.
func (s *storage) HasDatabase(_ *sql.Context, name string) bool {
	_, ok := s.dbs.get(name)
	return ok
}

// AllDatabases implements sql.DatabaseProvider.
func (s *storage) AllDatabases(*sql.Context) []sql.Database {
	dbs := s.dbs.all()
	out := make([]sql.Database, len(dbs))
	for i, db := range dbs {
		out[i] = db
	}
	return out
}

// CreateDatabase implements sql.MutableDatabaseProvider.
func (s *storage) CreateDatabase(_ *sql.Context, name string) error {
	return s.dbs.add(name, sql.ErrDatabaseExists.New(name), func() *database {
		return &database{name: name, turn: make(chan struct{}, 1)}
	})
}

// DropDatabase implements sql.MutableDatabaseProvider.
func (s *storage) DropDatabase(_ *sql.Context, name string) error {
	return s.dbs.drop(name, sql.ErrDatabaseNotFound.New(name))
}

// database is one database: its tables, and the write turn its
// transactions take.
type database struct {
	name   string
	tables named[*table]
	// turn holds a token while a transaction that wrote here is open.
	turn chan struct{}
	// commits is held to publish a commit's tables, and, shared, to take a
	// statement's view of them all: a statement reads whole commits.
	commits sync.RWMutex
}

// committedTables is every table's committed version, as one commit left
// them.
func (d *database) committedTables() map[*table]*tableData {
	d.commits.RLock()
	defer d.commits.RUnlock()
	out := map[*table]*tableData{}
	d.tables.each(func(t *table) { out[t] = t.committed() })
	return out
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
	if t, ok := d.tables.get(name); ok {
		return t, true, nil
	}
	return nil, false, nil
}

// GetTableNames implements sql.Database.
func (d *database) GetTableNames(*sql.Context) ([]string, error) {
	tables := d.tables.all()
	out := make([]string, len(tables))
	for i, t := range tables {
		out[i] = t.name
	}
	return out, nil
}

// CreateTable implements sql.TableCreator.
func (d *database) CreateTable(_ *sql.Context, name string, schema sql.PrimaryKeySchema, collation sql.CollationID, comment string) error {
	return d.tables.add(name, sql.ErrTableAlreadyExists.New(name), func() *table {
		return newTable(d, name, schema, collation, comment)
	})
}

// DropTable implements sql.TableDropper.
func (d *database) DropTable(_ *sql.Context, name string) error {
	return d.tables.drop(name, sql.ErrTableNotFound.New(name))
}

// session is a connection's session: go-mysql-server's base session and
// the transaction's private state in each database it wrote to.
type session struct {
	*sql.BaseSession
	mu sync.Mutex
	// writes holds, per database the open transaction wrote to, its
	// private copy of each table it changed.
	writes map[*database]map[*table]*tableData
	// statement holds, per table, the copy before the current statement
	// changed it.
	statement map[*table]statementSnapshot
	// checkpoint holds, per table, the copy before the current row of a
	// statement that undoes a failed row alone (INSERT IGNORE).
	checkpoint map[*table]statementSnapshot
	// reads holds, per database, the committed tables the current
	// statement reads.
	reads map[*database]readView
}

// readView is what statement pid reads of a database: its tables as the
// last commit before the statement's first read left them.
type readView struct {
	pid    uint64
	tables map[*table]*tableData
}

// committed is t as statement pid reads it: from the view of t's database
// the statement took at its first read (pid 0, outside a statement: as
// last committed).
func (s *session) committed(pid uint64, t *table) *tableData {
	if pid == 0 {
		return t.committed()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.reads[t.db]
	if !ok || v.pid != pid {
		v = readView{pid: pid, tables: t.db.committedTables()}
		if s.reads == nil {
			s.reads = map[*database]readView{}
		}
		s.reads[t.db] = v
	}
	if td, ok := v.tables[t]; ok {
		return td
	}
	return t.committed() // created after the view was taken
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
	td, ok := w[t]
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
		w = map[*table]*tableData{}
		s.mu.Lock()
		if s.writes == nil {
			s.writes = map[*database]map[*table]*tableData{}
		}
		s.writes[t.db] = w
		s.mu.Unlock()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	td, ok := w[t]
	if !ok {
		td = t.committed().clone()
		w[t] = td
	}
	return td, nil
}

// setTx replaces the transaction's copy of t (a failed statement undone).
func (s *session) setTx(t *table, td *tableData) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w, ok := s.writes[t.db]; ok {
		w[t] = td
	}
}

// end publishes (commit) or drops the transaction's copies and gives the
// databases' turns back.
func (s *session) end(commit bool) {
	s.mu.Lock()
	writes := s.writes
	s.writes, s.statement, s.checkpoint = nil, nil, nil
	s.mu.Unlock()
	for db, w := range writes {
		if commit {
			db.commits.Lock()
			for t, td := range w {
				t.publish(td)
			}
			db.commits.Unlock()
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

// beginRow marks where statement pid is in its changes to t: a row that
// then fails (INSERT IGNORE's duplicate) is undone alone, back to here.
// Before the statement's first change, its snapshot is that place.
func (s *session) beginRow(pid uint64, t *table) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.checkpoint, t)
	if snap, ok := s.statement[t]; !ok || snap.pid != pid {
		return
	}
	if td, ok := s.writes[t.db][t]; ok {
		if s.checkpoint == nil {
			s.checkpoint = map[*table]statementSnapshot{}
		}
		s.checkpoint[t] = statementSnapshot{pid: pid, td: td.clone()}
	}
}

// endRow forgets the row's mark: a later failure undoes the statement.
func (s *session) endRow(t *table) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.checkpoint, t)
}

// undoStatement puts t back as it was before statement pid or, with
// rowOnly and a row marked (beginRow), before the current row.
func (s *session) undoStatement(pid uint64, t *table, rowOnly bool) {
	s.mu.Lock()
	snap, ok := s.checkpoint[t]
	delete(s.checkpoint, t)
	if !rowOnly || !ok || snap.pid != pid {
		snap, ok = s.statement[t]
	}
	s.mu.Unlock()
	if ok && snap.pid == pid {
		s.setTx(t, snap.td.clone())
	}
}
