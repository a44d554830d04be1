package embedded

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/google/btree"
)

// btreeDegree is the B-trees' branching: wide nodes suit rows held by
// reference.
const btreeDegree = 32

// item is a row as the B-trees hold it. seq orders the rows of a table
// without a primary key (which may hold equal rows); it is 0 otherwise.
type item struct {
	row sql.Row
	seq uint64
}

// tableData is one version of a table's rows: the rows by primary key,
// each secondary index's entries (the same rows, ordered by the index's
// columns, then the primary key), and the next AUTO_INCREMENT value. A
// version that is committed is never changed again; a writer changes a
// clone.
type tableData struct {
	rows    *btree.BTreeG[item]
	indexes map[string]*btree.BTreeG[item] // by lower-case index name
	autoInc uint64
	seq     uint64
}

// clone is a copy that shares the trees' nodes until either changes them.
func (td *tableData) clone() *tableData {
	out := &tableData{rows: td.rows.Clone(), indexes: make(map[string]*btree.BTreeG[item], len(td.indexes)), autoInc: td.autoInc, seq: td.seq}
	for name, tree := range td.indexes {
		out.indexes[name] = tree.Clone()
	}
	return out
}

// table is one table: its definition (changed by DDL, which is not
// transactional) and its committed rows.
type table struct {
	db *database

	mu        sync.RWMutex
	name      string
	schema    sql.PrimaryKeySchema
	collation sql.CollationID
	comment   string
	autoCol   int // the AUTO_INCREMENT column, or -1
	indexes   []*index
	data      *tableData
}

var (
	_ sql.Table                 = (*table)(nil)
	_ sql.InsertableTable       = (*table)(nil)
	_ sql.UpdatableTable        = (*table)(nil)
	_ sql.DeletableTable        = (*table)(nil)
	_ sql.ReplaceableTable      = (*table)(nil)
	_ sql.AutoIncrementTable    = (*table)(nil)
	_ sql.IndexAddressableTable = (*table)(nil)
	_ sql.IndexAlterableTable   = (*table)(nil)
	_ sql.AlterableTable        = (*table)(nil)
	_ sql.PrimaryKeyTable       = (*table)(nil)
	_ sql.CommentedTable        = (*table)(nil)
	_ sql.Databaseable          = (*table)(nil)
)

func newTable(db *database, name string, schema sql.PrimaryKeySchema, collation sql.CollationID, comment string) *table {
	cols := make(sql.Schema, len(schema.Schema))
	for i, c := range schema.Schema {
		cc := *c
		cc.Source = name
		cc.DatabaseSource = db.name
		cols[i] = &cc
	}
	t := &table{db: db, name: name, schema: sql.NewPrimaryKeySchema(cols, schema.PkOrdinals...), collation: collation, comment: comment}
	t.autoCol = autoColumn(cols)
	t.data = &tableData{rows: btree.NewG(btreeDegree, t.pkLess()), indexes: map[string]*btree.BTreeG[item]{}}
	if t.autoCol >= 0 {
		t.data.autoInc = 1
	}
	return t
}

func autoColumn(cols sql.Schema) int {
	for i, c := range cols {
		if c.AutoIncrement {
			return i
		}
	}
	return -1
}

// committed is the table's committed version.
func (t *table) committed() *tableData {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.data
}

// publish makes td the committed version.
func (t *table) publish(td *tableData) {
	t.mu.Lock()
	t.data = td
	t.mu.Unlock()
}

// compare orders two values of type typ, NULL first.
func compare(typ sql.Type, a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	if bytewise(typ) {
		if as, ok := a.(string); ok {
			if bs, ok := b.(string); ok {
				if c, ok := compareBytewise(as, bs); ok {
					return c
				}
			}
		}
	}
	c, err := typ.Compare(context.Background(), a, b)
	if err != nil {
		// Stored values are of their column's type and always compare; a
		// probe the type cannot read (the engine refuses those first) is
		// ordered by its text, so the tree still sees one total order.
		return strings.Compare(fmt.Sprintf("%T %v", a, a), fmt.Sprintf("%T %v", b, b))
	}
	return c
}

// bytewise reports whether typ is a string type of the utf8mb4_0900_bin
// collation (the engine's default), whose weight of a character is its
// code point: compareBytewise can order its values. Keys are compared at
// every step down a B-tree, and the engine's own comparison decodes both
// strings a character at a time: it was most of the storage's time under
// load (docs/benchmarks.md).
func bytewise(typ sql.Type) bool {
	st, ok := typ.(types.StringType)
	return ok && st.Collation() == sql.Collation_utf8mb4_0900_bin
}

// compareBytewise orders a and b as the engine does for a collation whose
// weights are the code points, when their first difference says it alone;
// false leaves it to the engine. The engine decodes both a character at a
// time (a byte it cannot decode weighs U+FFFD), and the bytes before the
// first difference decode alike in both. Where the differing bytes (or the
// longer string's first extra byte) are ASCII, no character before them
// reaches them, so the engine compares exactly those bytes, or finds the
// shorter string first. Elsewhere (a difference inside a multibyte
// character, or at bytes that may not decode) it is the engine's call.
func compareBytewise(a, b string) (int, bool) {
	n := min(len(a), len(b))
	i := 0
	for i < n && a[i] == b[i] {
		i++
	}
	const ascii = 0x80
	switch {
	case i == len(a) && i == len(b):
		return 0, true
	case i == len(a):
		return -1, b[i] < ascii
	case i == len(b):
		return 1, a[i] < ascii
	case a[i] < ascii && b[i] < ascii:
		return cmp.Compare(a[i], b[i]), true
	}
	return 0, false
}

// compareCols orders two rows by the columns cols.
func (t *table) compareCols(cols []int, a, b sql.Row) int {
	for _, c := range cols {
		if r := compare(t.schema.Schema[c].Type, a[c], b[c]); r != 0 {
			return r
		}
	}
	return 0
}

// comparePK orders two items by primary key (by seq without one).
func (t *table) comparePK(a, b item) int {
	if len(t.schema.PkOrdinals) == 0 {
		switch {
		case a.seq < b.seq:
			return -1
		case a.seq > b.seq:
			return 1
		}
		return 0
	}
	return t.compareCols(t.schema.PkOrdinals, a.row, b.row)
}

func (t *table) pkLess() btree.LessFunc[item] {
	return func(a, b item) bool { return t.comparePK(a, b) < 0 }
}

func (t *table) indexLess(ix *index) btree.LessFunc[item] {
	return func(a, b item) bool {
		if c := t.compareCols(ix.cols, a.row, b.row); c != 0 {
			return c < 0
		}
		return t.comparePK(a, b) < 0
	}
}

// Name implements sql.Nameable.
func (t *table) Name() string { return t.name }

// String implements fmt.Stringer.
func (t *table) String() string { return t.name }

// Database implements sql.Databaseable.
func (t *table) Database() string { return t.db.name }

// Schema implements sql.Table.
func (t *table) Schema() sql.Schema {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.schema.Schema
}

// PrimaryKeySchema implements sql.PrimaryKeyTable.
func (t *table) PrimaryKeySchema() sql.PrimaryKeySchema {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.schema
}

// Collation implements sql.Table.
func (t *table) Collation() sql.CollationID { return t.collation }

// Comment implements sql.CommentedTable.
func (t *table) Comment() string { return t.comment }

// onePartition is the single partition of every table.
type onePartition struct{}

func (onePartition) Key() []byte { return []byte{0} }

// Partitions implements sql.Table.
func (t *table) Partitions(*sql.Context) (sql.PartitionIter, error) {
	return sql.PartitionsToPartitionIter(onePartition{}), nil
}

// PartitionRows implements sql.Table: every row, in primary key order.
func (t *table) PartitionRows(ctx *sql.Context, _ sql.Partition) (sql.RowIter, error) {
	td, err := t.readable(ctx)
	if err != nil {
		return nil, err
	}
	rows := make([]sql.Row, 0, td.rows.Len())
	td.rows.Ascend(func(it item) bool {
		rows = append(rows, it.row.Copy())
		return true
	})
	return sql.RowsToRowIter(rows...), nil
}

// readable is the version to read from: the committed one as it is (never
// changed again), or a clone of the transaction's own copy, which the
// statement reading it may change meanwhile. A locking read (SELECT ...
// FOR UPDATE or FOR SHARE) first takes the database's write turn, as a
// write does, and reads the transaction's copy: no other transaction can
// commit to the database until this one ends, so what it read stays true
// (coarser than InnoDB's row locks, never weaker).
func (t *table) readable(ctx *sql.Context) (*tableData, error) {
	s := sessionOf(ctx)
	if td, ok := s.inTx(t); ok {
		return td.clone(), nil
	}
	if lockingRead(ctx.Query()) {
		td, err := s.forWrite(ctx, t)
		if err != nil {
			return nil, err
		}
		return td.clone(), nil
	}
	return s.committed(ctx.Pid(), t), nil
}

// lockingClauses end a locking read; MySQL takes them only at the end of a
// SELECT.
var lockingClauses = []string{"FOR UPDATE", "FOR SHARE", "LOCK IN SHARE MODE", "NOWAIT", "SKIP LOCKED"}

// lockingRead reports whether query, a statement's text, ends with a
// locking clause. A statement that merely mentions one in a string ends
// with the string's quote, not with the clause.
func lockingRead(query string) bool {
	q := strings.TrimRight(query, " \t\r\n;")
	for _, c := range lockingClauses {
		if len(q) >= len(c) && strings.EqualFold(q[len(q)-len(c):], c) {
			return true
		}
	}
	return false
}

// Inserter implements sql.InsertableTable.
func (t *table) Inserter(ctx *sql.Context) sql.RowInserter { return t.editor(ctx) }

// Updater implements sql.UpdatableTable.
func (t *table) Updater(ctx *sql.Context) sql.RowUpdater { return t.editor(ctx) }

// Deleter implements sql.DeletableTable.
func (t *table) Deleter(ctx *sql.Context) sql.RowDeleter { return t.editor(ctx) }

// Replacer implements sql.ReplaceableTable.
func (t *table) Replacer(ctx *sql.Context) sql.RowReplacer { return t.editor(ctx) }

// editor returns an editor for one statement, having taken the database's
// write turn: the engine asks for the editor before the statement reads
// the rows it changes, so an UPDATE ... SET n = n + 1 reads them after any
// other writer's commit, never before (a lost update).
func (t *table) editor(ctx *sql.Context) *editor {
	e := &editor{t: t}
	_, e.err = sessionOf(ctx).forWrite(ctx, t)
	return e
}

// editor changes a table for one statement. Its first change takes a
// snapshot of the transaction's copy that undoes the statement if it fails.
type editor struct {
	t   *table
	err error // taking the write turn failed
}

func (e *editor) data(ctx *sql.Context) (*tableData, error) {
	if e.err != nil {
		return nil, e.err
	}
	s := sessionOf(ctx)
	td, err := s.forWrite(ctx, e.t)
	if err != nil {
		return nil, err
	}
	s.snapshotStatement(ctx.Pid(), e.t, td)
	return td, nil
}

// StatementBegin implements sql.EditOpenerCloser. go-mysql-server calls
// it at a statement's start, and before each row of a statement whose rows
// may fail alone (INSERT IGNORE).
func (e *editor) StatementBegin(ctx *sql.Context) { sessionOf(ctx).beginRow(ctx.Pid(), e.t) }

// DiscardChanges implements sql.EditOpenerCloser. A row that INSERT
// IGNORE skips (an sql.IgnorableError) has its changes to the table undone
// back to StatementBegin; any other error undoes the whole statement, as
// MySQL does.
func (e *editor) DiscardChanges(ctx *sql.Context, err error) error {
	_, rowOnly := err.(sql.IgnorableError)
	sessionOf(ctx).undoStatement(ctx.Pid(), e.t, rowOnly)
	return nil
}

// StatementComplete implements sql.EditOpenerCloser: a row (or the
// statement) went through.
func (e *editor) StatementComplete(ctx *sql.Context) error {
	sessionOf(ctx).endRow(e.t)
	return nil
}

// Close implements sql.Closer.
func (e *editor) Close(*sql.Context) error { return nil }

// Insert implements sql.RowInserter.
func (e *editor) Insert(ctx *sql.Context, row sql.Row) error {
	td, err := e.data(ctx)
	if err != nil {
		return err
	}
	return e.t.insert(td, row.Copy())
}

// Update implements sql.RowUpdater.
func (e *editor) Update(ctx *sql.Context, old, new sql.Row) error {
	td, err := e.data(ctx)
	if err != nil {
		return err
	}
	return e.t.update(td, old, new.Copy())
}

// Delete implements sql.RowDeleter.
func (e *editor) Delete(ctx *sql.Context, row sql.Row) error {
	td, err := e.data(ctx)
	if err != nil {
		return err
	}
	return e.t.delete(td, row)
}

// insert adds row to td, refusing a duplicate key.
func (t *table) insert(td *tableData, row sql.Row) error {
	t.mu.RLock()
	defer t.mu.RUnlock()
	it := item{row: row}
	if len(t.schema.PkOrdinals) == 0 {
		td.seq++
		it.seq = td.seq
	}
	return t.add(td, it)
}

// add puts it into td unless its primary key or a unique index's values
// are taken (t.mu held).
func (t *table) add(td *tableData, it item) error {
	if len(t.schema.PkOrdinals) > 0 {
		if old, ok := td.rows.Get(it); ok {
			return sql.NewUniqueKeyErr(formatKey(it.row, t.schema.PkOrdinals), true, old.row)
		}
	}
	for _, ix := range t.indexes {
		if old, ok := t.clash(td, ix, it, nil); ok {
			return sql.NewUniqueKeyErr(formatKey(it.row, ix.cols), false, old.row)
		}
	}
	t.put(td, it)
	return nil
}

// update replaces the stored row old by row.
func (t *table) update(td *tableData, old, row sql.Row) error {
	t.mu.RLock()
	defer t.mu.RUnlock()
	stored, ok := t.find(td, old)
	if !ok {
		return fmt.Errorf("embedded: update %s: the row to update is gone", t.name)
	}
	it := item{row: row, seq: stored.seq}
	if t.comparePK(stored, it) != 0 {
		if dup, ok := td.rows.Get(it); ok {
			return sql.NewUniqueKeyErr(formatKey(row, t.schema.PkOrdinals), true, dup.row)
		}
	}
	for _, ix := range t.indexes {
		if t.compareCols(ix.cols, stored.row, row) == 0 {
			continue
		}
		if dup, ok := t.clash(td, ix, it, &stored); ok {
			return sql.NewUniqueKeyErr(formatKey(row, ix.cols), false, dup.row)
		}
	}
	t.remove(td, stored)
	t.put(td, it)
	return nil
}

// delete removes the stored row equal to row.
func (t *table) delete(td *tableData, row sql.Row) error {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if stored, ok := t.find(td, row); ok {
		t.remove(td, stored)
	}
	return nil
}

// find is the stored item of row: by primary key, or, in a table without
// one, the first equal row.
func (t *table) find(td *tableData, row sql.Row) (item, bool) {
	if len(t.schema.PkOrdinals) > 0 {
		return td.rows.Get(item{row: row})
	}
	var found item
	var ok bool
	all := make([]int, len(t.schema.Schema))
	for i := range all {
		all[i] = i
	}
	td.rows.Ascend(func(it item) bool {
		if t.compareCols(all, it.row, row) == 0 {
			found, ok = it, true
			return false
		}
		return true
	})
	return found, ok
}

// clash is a row other than self with the values of it in unique index
// ix. NULLs never clash.
func (t *table) clash(td *tableData, ix *index, it item, self *item) (item, bool) {
	if !ix.unique {
		return item{}, false
	}
	for _, c := range ix.cols {
		if it.row[c] == nil {
			return item{}, false
		}
	}
	probe := item{row: make(sql.Row, len(it.row))}
	for _, c := range ix.cols {
		probe.row[c] = it.row[c]
	}
	var found item
	var ok bool
	td.indexes[ix.key()].AscendGreaterOrEqual(probe, func(e item) bool {
		if t.compareCols(ix.cols, e.row, it.row) != 0 {
			return false
		}
		if self != nil && t.comparePK(e, *self) == 0 {
			return true
		}
		found, ok = e, true
		return false
	})
	return found, ok
}

func (t *table) put(td *tableData, it item) {
	td.rows.ReplaceOrInsert(it)
	for _, ix := range t.indexes {
		td.indexes[ix.key()].ReplaceOrInsert(it)
	}
	if t.autoCol >= 0 && it.row[t.autoCol] != nil {
		if v, _, err := types.Uint64.Convert(context.Background(), it.row[t.autoCol]); err == nil {
			if n := v.(uint64); n >= td.autoInc {
				td.autoInc = n + 1
			}
		}
	}
}

func (t *table) remove(td *tableData, it item) {
	td.rows.Delete(it)
	for _, ix := range t.indexes {
		td.indexes[ix.key()].Delete(it)
	}
}

func formatKey(row sql.Row, cols []int) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = fmt.Sprint(row[c])
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// PeekNextAutoIncrementValue implements sql.AutoIncrementGetter.
func (t *table) PeekNextAutoIncrementValue(ctx *sql.Context) (uint64, error) {
	td, err := t.readable(ctx)
	if err != nil {
		return 0, err
	}
	return td.autoInc, nil
}

// GetNextAutoIncrementValue implements sql.AutoIncrementTable: the value
// for a row that gives insertVal (nil, or 0, for none).
func (t *table) GetNextAutoIncrementValue(ctx *sql.Context, insertVal any) (uint64, error) {
	td, err := (&editor{t: t}).data(ctx)
	if err != nil {
		return 0, err
	}
	if insertVal != nil {
		v, _, err := types.Uint64.Convert(ctx, insertVal)
		if err != nil {
			return 0, err
		}
		if n := v.(uint64); n > td.autoInc {
			td.autoInc = n
		}
	}
	return td.autoInc, nil
}

// AutoIncrementSetter implements sql.AutoIncrementTable.
func (t *table) AutoIncrementSetter(*sql.Context) sql.AutoIncrementSetter {
	return autoIncSetter{t: t}
}

type autoIncSetter struct{ t *table }

func (a autoIncSetter) SetAutoIncrementValue(ctx *sql.Context, v uint64) error {
	td, err := (&editor{t: a.t}).data(ctx)
	if err != nil {
		return err
	}
	td.autoInc = v
	return nil
}

func (a autoIncSetter) AcquireAutoIncrementLock(*sql.Context) (func(), error) {
	return func() {}, nil // writers to a database already take turns
}

func (a autoIncSetter) Close(*sql.Context) error { return nil }

// ddl runs change, a definition change, as its own committed step (as in
// MySQL, it commits an open transaction first): change gets a copy of the
// committed rows, holding the database's write turn, and its result is
// committed with the new definition.
func (t *table) ddl(ctx *sql.Context, change func(td *tableData) (*tableData, error)) error {
	s := sessionOf(ctx)
	s.end(true)
	td, err := s.forWrite(ctx, t)
	if err != nil {
		return err
	}
	t.mu.Lock()
	next, err := change(td)
	t.mu.Unlock()
	if err != nil {
		s.end(false)
		return err
	}
	s.setTx(t, next)
	s.end(true)
	return nil
}

// rebuild is td with every row passed through f and every tree rebuilt for
// the table's current definition (t.mu held).
func (t *table) rebuild(td *tableData, f func(sql.Row) (sql.Row, error)) (*tableData, error) {
	out := &tableData{rows: btree.NewG(btreeDegree, t.pkLess()), indexes: map[string]*btree.BTreeG[item]{}, autoInc: td.autoInc, seq: td.seq}
	for _, ix := range t.indexes {
		out.indexes[ix.key()] = btree.NewG(btreeDegree, t.indexLess(ix))
	}
	var err error
	td.rows.Ascend(func(it item) bool {
		var row sql.Row
		if row, err = f(it.row); err != nil {
			return false
		}
		err = t.add(out, item{row: row, seq: it.seq})
		return err == nil
	})
	return out, err
}

// AddColumn implements sql.AlterableTable.
func (t *table) AddColumn(ctx *sql.Context, column *sql.Column, order *sql.ColumnOrder) error {
	return t.ddl(ctx, func(td *tableData) (*tableData, error) {
		col := *column
		col.Source, col.DatabaseSource = t.name, t.db.name
		if col.PrimaryKey {
			return nil, errors.New("embedded: adding a primary key column is not supported")
		}
		at := len(t.schema.Schema)
		switch {
		case order != nil && order.First:
			at = 0
		case order != nil && order.AfterColumn != "":
			i := t.schema.Schema.IndexOfColName(order.AfterColumn)
			if i < 0 {
				return nil, sql.ErrTableColumnNotFound.New(t.name, order.AfterColumn)
			}
			at = i + 1
		}
		cols := slices.Insert(slices.Clone(t.schema.Schema), at, &col)
		return t.redefine(td, sql.NewPrimaryKeySchema(cols, shifted(t.schema.PkOrdinals, at, 1)...), func(row sql.Row) (sql.Row, error) {
			out := slices.Insert(slices.Clone(row), at, nil)
			switch {
			case col.Default != nil:
				v, err := col.Default.Eval(ctx, out)
				if err != nil {
					return nil, err
				}
				out[at] = v
			case !col.Nullable:
				out[at] = col.Type.Zero()
			}
			return out, nil
		})
	})
}

// DropColumn implements sql.AlterableTable.
func (t *table) DropColumn(ctx *sql.Context, name string) error {
	return t.ddl(ctx, func(td *tableData) (*tableData, error) {
		at := t.schema.Schema.IndexOfColName(name)
		if at < 0 {
			return nil, sql.ErrTableColumnNotFound.New(t.name, name)
		}
		for _, ix := range t.indexes {
			if slices.Contains(ix.cols, at) {
				return nil, fmt.Errorf("embedded: drop index %s before column %s", ix.name, name)
			}
		}
		if slices.Contains(t.schema.PkOrdinals, at) {
			return nil, errors.New("embedded: dropping a primary key column is not supported")
		}
		cols := slices.Delete(slices.Clone(t.schema.Schema), at, at+1)
		return t.redefine(td, sql.NewPrimaryKeySchema(cols, shifted(t.schema.PkOrdinals, at+1, -1)...), func(row sql.Row) (sql.Row, error) {
			return slices.Delete(slices.Clone(row), at, at+1), nil
		})
	})
}

// shifted is the column positions pks with those from from on moved by d
// (a column added or dropped before them).
func shifted(pks []int, from, d int) []int {
	out := make([]int, len(pks))
	for i, p := range pks {
		out[i] = p
		if p >= from {
			out[i] += d
		}
	}
	return out
}

// ModifyColumn implements sql.AlterableTable: a new definition for a
// column in its place (a move is not supported); the values are converted.
func (t *table) ModifyColumn(ctx *sql.Context, name string, column *sql.Column, order *sql.ColumnOrder) error {
	if order != nil {
		return errors.New("embedded: moving a column is not supported")
	}
	return t.ddl(ctx, func(td *tableData) (*tableData, error) {
		at := t.schema.Schema.IndexOfColName(name)
		if at < 0 {
			return nil, sql.ErrTableColumnNotFound.New(t.name, name)
		}
		col := *column
		col.Source, col.DatabaseSource = t.name, t.db.name
		col.PrimaryKey = t.schema.Schema[at].PrimaryKey
		cols := slices.Clone(t.schema.Schema)
		cols[at] = &col
		return t.redefine(td, sql.NewPrimaryKeySchema(cols, t.schema.PkOrdinals...), func(row sql.Row) (sql.Row, error) {
			out := slices.Clone(row)
			if out[at] != nil {
				v, _, err := col.Type.Convert(ctx, out[at])
				if err != nil {
					return nil, err
				}
				out[at] = v
			}
			return out, nil
		})
	})
}

// redefine gives the table schema and rebuilds td's rows through f (t.mu
// held); on failure the old definition stays.
func (t *table) redefine(td *tableData, schema sql.PrimaryKeySchema, f func(sql.Row) (sql.Row, error)) (*tableData, error) {
	old := t.schema
	t.schema = schema
	t.refresh()
	next, err := t.rebuild(td, f)
	if err != nil {
		t.schema = old
		t.refresh()
		return nil, err
	}
	return next, nil
}

// refresh recomputes what follows from the definition (t.mu held): the
// AUTO_INCREMENT column and each index's column positions.
func (t *table) refresh() {
	t.autoCol = autoColumn(t.schema.Schema)
	for _, ix := range t.indexes {
		ix.resolve(t.schema.Schema)
	}
}
