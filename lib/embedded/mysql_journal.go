package embedded

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/server"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
	"github.com/dolthub/vitess/go/vt/sqlparser"
)

// A journal file (mysql-journal-<generation>.jsonl) holds the transactions
// committed since the dump that names its generation, one JSON line each,
// appended before the client sees the commit's OK. A start loads the dump,
// replays its journal and checkpoints (MySQL.Save: a new journal, a new
// dump naming it, the old journal deleted); a clean Close checkpoints too.
// So every acknowledged commit survives the process being killed (SIGKILL)
// at any moment. It is written without fsync: a crash of the process loses
// nothing (the operating system holds the write), a crash of the machine
// may lose the last commits.
func journalPath(dir string, gen int64) string {
	return filepath.Join(dir, fmt.Sprintf("mysql-journal-%d.jsonl", gen))
}

// journalRecord is one committed transaction: the statements that changed
// data, in order, each run in the database that was current for it.
type journalRecord struct {
	Statements []journalStatement `json:"s"`
}

type journalStatement struct {
	DB string `json:"db"`
	// SQL is bytes (base64 in JSON): a statement may carry binary
	// literals that are not UTF-8.
	SQL []byte `json:"sql"`
}

// journal is a go-mysql-server interceptor that records every committed
// write, per connection: inside a transaction the writes wait for COMMIT
// (a ROLLBACK drops them); outside one each write is its own commit.
type journal struct {
	mu   sync.Mutex
	file *os.File
	off  bool // replaying: nothing is recorded
	sm   *server.SessionManager
	// pending holds the writes of each connection's open transaction; a
	// connection outside a transaction has no entry.
	pending map[uint32][]journalStatement
}

func newJournal() *journal { return &journal{pending: map[uint32][]journalStatement{}} }

// open makes generation gen's file the one written from now on (the
// previous one is closed).
func (j *journal) open(dir string, gen int64) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("embedded: journal: %w", err)
	}
	f, err := os.OpenFile(journalPath(dir, gen), os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("embedded: journal: %w", err)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	var cerr error
	if j.file != nil {
		cerr = j.file.Close()
	}
	j.file = f
	return cerr
}

// removeBefore deletes the journals of generations before gen: a dump
// holds them.
func (j *journal) removeBefore(dir string, gen int64) error {
	for g := gen - 1; g >= 0; g-- {
		err := os.Remove(journalPath(dir, g))
		if errors.Is(err, os.ErrNotExist) {
			if g < gen-1 {
				return nil
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("embedded: journal: %w", err)
		}
	}
	return nil
}

// option installs the journal as the server's interceptor and keeps the
// session manager, which knows each connection's current database.
func (j *journal) option() server.Option {
	var ic server.InterceptorChain
	ic.WithInterceptor(j)
	inner := ic.Option()
	return func(e *sqle.Engine, sm *server.SessionManager, h mysql.Handler) (*sqle.Engine, *server.SessionManager, mysql.Handler) {
		j.sm = sm
		return inner(e, sm, h)
	}
}

// records reads the journal's transactions; a torn last line (the process
// died while writing it, before the client was answered) is ignored.
func (j *journal) records() ([]journalRecord, error) {
	if _, err := j.file.Seek(0, 0); err != nil {
		return nil, err
	}
	var out []journalRecord
	sc := bufio.NewScanner(j.file)
	sc.Buffer(make([]byte, 1<<20), 1<<30)
	for sc.Scan() {
		var r journalRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			break
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

// replay runs the journal's transactions again on db, recording nothing.
func (j *journal) replay(ctx context.Context, db *sql.DB) (int, error) {
	recs, err := j.records()
	if err != nil {
		return 0, fmt.Errorf("embedded: journal: read: %w", err)
	}
	j.setOff(true)
	defer j.setOff(false)
	conn, err := db.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	for i, r := range recs {
		for _, st := range r.Statements {
			if st.DB != "" {
				if _, err := conn.ExecContext(ctx, "USE "+quoteIdent(st.DB)); err != nil {
					return i, fmt.Errorf("embedded: journal: replay %d: use %s: %w", i, st.DB, err)
				}
			}
			if _, err := conn.ExecContext(ctx, string(st.SQL)); err != nil {
				return i, fmt.Errorf("embedded: journal: replay %d: %w", i, err)
			}
		}
	}
	return len(recs), nil
}

func (j *journal) close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.file == nil {
		return nil
	}
	return j.file.Close()
}

func (j *journal) setOff(off bool) {
	j.mu.Lock()
	j.off = off
	j.mu.Unlock()
}

// Priority implements server.Interceptor.
func (j *journal) Priority() int { return 0 }

// Query implements server.Interceptor: it records q if it commits data.
func (j *journal) Query(ctx context.Context, chain server.Chain, c *mysql.Conn, q string, callback func(*sqltypes.Result, bool) error) error {
	return chain.ComQuery(ctx, c, q, j.onSuccess(c, q, callback))
}

// ParsedQuery implements server.Interceptor.
func (j *journal) ParsedQuery(chain server.Chain, c *mysql.Conn, q string, parsed sqlparser.Statement, callback func(*sqltypes.Result, bool) error) error {
	return chain.ComQuery(context.Background(), c, q, j.onSuccess(c, q, callback))
}

// MultiQuery implements server.Interceptor. knshop's clients never send
// several statements in one query; the journal records the first one.
func (j *journal) MultiQuery(ctx context.Context, chain server.Chain, c *mysql.Conn, q string, callback func(*sqltypes.Result, bool) error) (string, error) {
	return chain.ComMultiQuery(ctx, c, q, j.onSuccess(c, q, callback))
}

// Prepare implements server.Interceptor.
func (j *journal) Prepare(ctx context.Context, chain server.Chain, c *mysql.Conn, q string, prepare *mysql.PrepareData) ([]*querypb.Field, error) {
	return chain.ComPrepare(ctx, c, q, prepare)
}

// StmtExecute implements server.Interceptor: a prepared write is recorded
// as text with its bound values as SQL literals.
func (j *journal) StmtExecute(ctx context.Context, chain server.Chain, c *mysql.Conn, prepare *mysql.PrepareData, callback func(*sqltypes.Result) error) error {
	if classify(prepare.PrepareStmt) == kindRead {
		return chain.ComStmtExecute(ctx, c, prepare, callback)
	}
	text, err := interpolate(prepare)
	if err != nil {
		return fmt.Errorf("embedded: journal: %w", err)
	}
	cb := j.onSuccess(c, text, func(r *sqltypes.Result, _ bool) error { return callback(r) })
	return chain.ComStmtExecute(ctx, c, prepare, func(r *sqltypes.Result) error { return cb(r, false) })
}

// onSuccess wraps callback: the first time the server answers q (it ran),
// the journal takes note of it before the client is answered. A read is
// passed through as it is.
func (j *journal) onSuccess(c *mysql.Conn, q string, callback func(*sqltypes.Result, bool) error) func(*sqltypes.Result, bool) error {
	kind := classify(q)
	if kind == kindRead {
		return callback
	}
	noted := false
	return func(r *sqltypes.Result, more bool) error {
		if !noted {
			noted = true
			if err := j.note(c, kind, q); err != nil {
				return err
			}
		}
		return callback(r, more)
	}
}

// note records q, a statement of kind, for connection c: a write waits in
// the connection's open transaction, or is appended at once outside one.
func (j *journal) note(c *mysql.Conn, kind stmtKind, q string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.off || j.file == nil {
		return nil
	}
	tx, inTx := j.pending[c.ConnectionID]
	switch kind {
	case kindBegin:
		j.pending[c.ConnectionID] = nil
	case kindRollback:
		delete(j.pending, c.ConnectionID)
	case kindCommit:
		delete(j.pending, c.ConnectionID)
		return j.appendLocked(tx)
	case kindWrite:
		db := ""
		if j.sm != nil {
			db = j.sm.GetCurrentDB(c)
		}
		s := journalStatement{DB: db, SQL: []byte(q)}
		if inTx {
			j.pending[c.ConnectionID] = append(tx, s)
			return nil
		}
		return j.appendLocked([]journalStatement{s})
	}
	return nil
}

func (j *journal) appendLocked(stmts []journalStatement) error {
	if len(stmts) == 0 {
		return nil
	}
	b, err := json.Marshal(journalRecord{Statements: stmts})
	if err != nil {
		return fmt.Errorf("embedded: journal: %w", err)
	}
	// One write of the whole line: the kernel has it before the OK goes out.
	if _, err := j.file.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("embedded: journal: %w", err)
	}
	return nil
}

type stmtKind int

const (
	kindRead stmtKind = iota
	kindWrite
	kindBegin
	kindCommit
	kindRollback
)

// classify tells a statement's effect by its first word.
func classify(q string) stmtKind {
	word := strings.ToUpper(firstWord(q))
	switch word {
	case "SELECT", "SHOW", "SET", "USE", "DESCRIBE", "DESC", "EXPLAIN", "WITH", "DO", "":
		return kindRead
	case "BEGIN":
		return kindBegin
	case "START":
		return kindBegin // START TRANSACTION
	case "COMMIT":
		return kindCommit
	case "ROLLBACK":
		return kindRollback
	}
	return kindWrite
}

func firstWord(q string) string {
	q = strings.TrimLeft(q, " \t\r\n(")
	for strings.HasPrefix(q, "/*") {
		end := strings.Index(q, "*/")
		if end < 0 {
			return ""
		}
		q = strings.TrimLeft(q[end+2:], " \t\r\n(")
	}
	end := strings.IndexAny(q, " \t\r\n(;")
	if end < 0 {
		return q
	}
	return q[:end]
}

// interpolate renders a prepared statement with its bound values as SQL
// literals, placeholders outside quotes taken in order.
func interpolate(p *mysql.PrepareData) (string, error) {
	var b strings.Builder
	n := 0
	var quote byte
	q := p.PrepareStmt
	for i := 0; i < len(q); i++ {
		ch := q[i]
		switch {
		case quote != 0:
			b.WriteByte(ch)
			if ch == '\\' && i+1 < len(q) {
				i++
				b.WriteByte(q[i])
			} else if ch == quote {
				quote = 0
			}
		case ch == '\'' || ch == '"' || ch == '`':
			quote = ch
			b.WriteByte(ch)
		case ch == '?':
			n++
			bv, ok := p.BindVars[fmt.Sprintf("v%d", n)]
			if !ok {
				return "", fmt.Errorf("prepared statement lacks value %d", n)
			}
			v, err := sqltypes.BindVariableToValue(bv)
			if err != nil {
				return "", err
			}
			v.EncodeSQL(&b)
		default:
			b.WriteByte(ch)
		}
	}
	return b.String(), nil
}

func quoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }
