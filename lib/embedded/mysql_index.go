package embedded

import (
	"fmt"
	"slices"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/google/btree"
)

// primaryName is the primary key's index name.
const primaryName = "PRIMARY"

// index is a table's index: a secondary one (a tree of its own in each
// tableData), or the primary key (the rows' tree).
type index struct {
	t       *table
	name    string
	names   []string // the columns, by name
	cols    []int    // their positions in the table's schema
	unique  bool
	comment string
}

var _ sql.Index = (*index)(nil)

// key names the index's tree in a tableData.
func (ix *index) key() string { return strings.ToLower(ix.name) }

// resolve finds the index's columns in schema.
func (ix *index) resolve(schema sql.Schema) {
	ix.cols = make([]int, len(ix.names))
	for i, n := range ix.names {
		ix.cols[i] = schema.IndexOfColName(n)
	}
}

// ID implements sql.Index.
func (ix *index) ID() string { return ix.name }

// Database implements sql.Index.
func (ix *index) Database() string { return ix.t.db.name }

// Table implements sql.Index.
func (ix *index) Table() string { return ix.t.name }

// Expressions implements sql.Index: table.column for each column.
func (ix *index) Expressions() []string {
	out := make([]string, len(ix.names))
	for i, n := range ix.names {
		out[i] = ix.t.name + "." + n
	}
	return out
}

// IsUnique implements sql.Index.
func (ix *index) IsUnique() bool { return ix.unique }

// IsSpatial implements sql.Index.
func (ix *index) IsSpatial() bool { return false }

// IsFullText implements sql.Index.
func (ix *index) IsFullText() bool { return false }

// IsVector implements sql.Index.
func (ix *index) IsVector() bool { return false }

// Comment implements sql.Index.
func (ix *index) Comment() string { return ix.comment }

// IndexType implements sql.Index.
func (ix *index) IndexType() string { return "BTREE" }

// IsGenerated implements sql.Index.
func (ix *index) IsGenerated() bool { return false }

// ColumnExpressionTypes implements sql.Index.
func (ix *index) ColumnExpressionTypes() []sql.ColumnExpressionType {
	schema := ix.t.Schema()
	exprs := ix.Expressions()
	out := make([]sql.ColumnExpressionType, len(ix.cols))
	for i, c := range ix.cols {
		out[i] = sql.ColumnExpressionType{Expression: exprs[i], Type: schema[c].Type}
	}
	return out
}

// CanSupport implements sql.Index: any range of the columns' values.
func (ix *index) CanSupport(*sql.Context, ...sql.Range) bool { return true }

// CanSupportOrderBy implements sql.Index: no ORDER BY is served by an
// index; the engine sorts.
func (ix *index) CanSupportOrderBy(sql.Expression) bool { return false }

// PrefixLengths implements sql.Index: indexes hold whole values.
func (ix *index) PrefixLengths() []uint16 { return nil }

// GetIndexes implements sql.IndexAddressable: the primary key, then the
// secondary indexes.
func (t *table) GetIndexes(*sql.Context) ([]sql.Index, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var out []sql.Index
	if len(t.schema.PkOrdinals) > 0 {
		pk := &index{t: t, name: primaryName, unique: true}
		for _, p := range t.schema.PkOrdinals {
			pk.names = append(pk.names, t.schema.Schema[p].Name)
		}
		pk.cols = slices.Clone(t.schema.PkOrdinals)
		out = append(out, pk)
	}
	for _, ix := range t.indexes {
		out = append(out, ix)
	}
	return out, nil
}

// indexNamed is the position of the secondary index named name (in any
// case) in t.indexes, or -1 (t.mu held).
func (t *table) indexNamed(name string) int {
	return slices.IndexFunc(t.indexes, func(ix *index) bool { return strings.EqualFold(ix.name, name) })
}

// PreciseMatch implements sql.IndexAddressable: the engine keeps its
// filter over an index scan.
func (t *table) PreciseMatch() bool { return false }

// IndexedAccess implements sql.IndexAddressable.
func (t *table) IndexedAccess(_ *sql.Context, lookup sql.IndexLookup) sql.IndexedTable {
	return &indexedTable{table: t, lookup: lookup}
}

// CreateIndex implements sql.IndexAlterableTable.
func (t *table) CreateIndex(ctx *sql.Context, def sql.IndexDef) error {
	if def.IsFullText() || def.IsSpatial() || def.IsVector() {
		return fmt.Errorf("embedded: index %s: only ordinary and unique indexes are supported", def.Name)
	}
	return t.ddl(ctx, func(td *tableData) (*tableData, error) {
		name := def.Name
		if name == "" {
			name = def.Columns[0].Name
		}
		if strings.EqualFold(name, primaryName) || t.indexNamed(name) >= 0 {
			return nil, sql.ErrDuplicateKey.New(name)
		}
		ix := &index{t: t, name: name, unique: def.IsUnique(), comment: def.Comment}
		for _, c := range def.Columns {
			if t.schema.Schema.IndexOfColName(c.Name) < 0 {
				return nil, sql.ErrKeyColumnDoesNotExist.New(c.Name)
			}
			ix.names = append(ix.names, c.Name)
		}
		ix.resolve(t.schema.Schema)
		t.indexes = append(t.indexes, ix)
		next, err := t.rebuild(td, func(r sql.Row) (sql.Row, error) { return r, nil })
		if err != nil {
			t.indexes = t.indexes[:len(t.indexes)-1]
		}
		return next, err
	})
}

// DropIndex implements sql.IndexAlterableTable.
func (t *table) DropIndex(ctx *sql.Context, name string) error {
	return t.ddl(ctx, func(td *tableData) (*tableData, error) {
		i := t.indexNamed(name)
		if i < 0 {
			return nil, sql.ErrIndexNotFound.New(name)
		}
		ix := t.indexes[i]
		t.indexes = slices.Delete(t.indexes, i, i+1)
		next := td.clone()
		delete(next.indexes, ix.key())
		return next, nil
	})
}

// RenameIndex implements sql.IndexAlterableTable.
func (t *table) RenameIndex(ctx *sql.Context, from, to string) error {
	return t.ddl(ctx, func(td *tableData) (*tableData, error) {
		i := t.indexNamed(from)
		if i < 0 {
			return nil, sql.ErrIndexNotFound.New(from)
		}
		ix := t.indexes[i]
		next := td.clone()
		tree := next.indexes[ix.key()]
		delete(next.indexes, ix.key())
		ix.name = to
		next.indexes[ix.key()] = tree
		return next, nil
	})
}

// indexedTable is a table read through one index lookup.
type indexedTable struct {
	*table
	lookup sql.IndexLookup
}

var _ sql.IndexedTable = (*indexedTable)(nil)

// LookupPartitions implements sql.IndexedTable.
func (it *indexedTable) LookupPartitions(_ *sql.Context, lookup sql.IndexLookup) (sql.PartitionIter, error) {
	return sql.PartitionsToPartitionIter(lookupPartition{lookup: lookup}), nil
}

// Partitions implements sql.Table: the lookup IndexedAccess was given.
func (it *indexedTable) Partitions(*sql.Context) (sql.PartitionIter, error) {
	return sql.PartitionsToPartitionIter(lookupPartition{lookup: it.lookup}), nil
}

// PartitionRows implements sql.Table: the rows in the lookup's ranges, in
// the index's order.
func (it *indexedTable) PartitionRows(ctx *sql.Context, p sql.Partition) (sql.RowIter, error) {
	lookup := it.lookup
	if lp, ok := p.(lookupPartition); ok {
		lookup = lp.lookup
	}
	rows, err := it.scan(ctx, lookup)
	if err != nil {
		return nil, err
	}
	return sql.RowsToRowIter(rows...), nil
}

// lookupPartition is the one partition of an index lookup.
type lookupPartition struct{ lookup sql.IndexLookup }

func (lookupPartition) Key() []byte { return []byte{1} }

// scan collects the rows of t in lookup's ranges: each range seeks its
// first column's lower bound in the index's tree and walks until past its
// upper bound, keeping the rows every column's range holds.
func (t *table) scan(ctx *sql.Context, lookup sql.IndexLookup) ([]sql.Row, error) {
	if lookup.IsEmptyRange {
		return nil, nil
	}
	ranges, ok := lookup.Ranges.(sql.MySQLRangeCollection)
	if !ok {
		return nil, fmt.Errorf("embedded: index %s: unsupported lookup %T", lookup.Index.ID(), lookup.Ranges)
	}
	td, err := t.readable(ctx)
	if err != nil {
		return nil, err
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	var tree *btree.BTreeG[item]
	var cols []int
	if lookup.Index.ID() == primaryName {
		tree, cols = td.rows, t.schema.PkOrdinals
	} else {
		i := t.indexNamed(lookup.Index.ID())
		if i < 0 {
			return nil, sql.ErrIndexNotFound.New(lookup.Index.ID())
		}
		tree, cols = td.indexes[t.indexes[i].key()], t.indexes[i].cols
	}
	// The engine may rely on the rows coming in the index's order (it
	// drops an ORDER BY that the index gives), but hands the ranges over
	// in any order.
	ranges, err = sortRanges(ranges)
	if err != nil {
		return nil, err
	}
	var out []sql.Row
	seen := map[*any]bool{}
	for _, r := range ranges {
		if len(r) == 0 || len(r) > len(cols) {
			return nil, fmt.Errorf("embedded: index %s: a range of %d columns", lookup.Index.ID(), len(r))
		}
		var err error
		visit := func(e item) bool {
			var pos int
			if pos, err = position(r[0], e.row[cols[0]]); err != nil || pos > 0 {
				return false
			}
			if pos < 0 {
				return true
			}
			for i := 1; i < len(r); i++ {
				if pos, err = position(r[i], e.row[cols[i]]); err != nil {
					return false
				}
				if pos != 0 {
					return true
				}
			}
			if len(ranges) > 1 {
				if seen[&e.row[0]] {
					return true
				}
				seen[&e.row[0]] = true
			}
			out = append(out, e.row.Copy())
			return true
		}
		if sql.MySQLRangeCutIsBinding(r[0].LowerBound) {
			probe := item{row: make(sql.Row, len(t.schema.Schema))}
			probe.row[cols[0]] = sql.GetMySQLRangeCutKey(r[0].LowerBound)
			tree.AscendGreaterOrEqual(probe, visit)
		} else {
			tree.Ascend(visit)
		}
		if err != nil {
			return nil, err
		}
	}
	if lookup.IsReverse {
		slices.Reverse(out)
	}
	return out, nil
}

// position tells where v stands against the column range rce: -1 below
// it, 0 in it, 1 above it.
func position(rce sql.MySQLRangeColumnExpr, v any) (int, error) {
	var below, above sql.MySQLRangeCut = sql.BelowNull{}, sql.AboveNull{}
	if v != nil {
		below, above = sql.Below{Key: v}, sql.Above{Key: v}
	}
	c, err := rce.LowerBound.Compare(below, rce.Typ)
	if err != nil {
		return 0, err
	}
	if c > 0 {
		return -1, nil
	}
	if c, err = above.Compare(rce.UpperBound, rce.Typ); err != nil {
		return 0, err
	}
	if c > 0 {
		return 1, nil
	}
	return 0, nil
}

// sortRanges orders ranges by their lower bounds, column by column.
func sortRanges(ranges sql.MySQLRangeCollection) (sql.MySQLRangeCollection, error) {
	out := slices.Clone(ranges)
	var err error
	slices.SortStableFunc(out, func(a, b sql.MySQLRange) int {
		for i := 0; i < len(a) && i < len(b); i++ {
			c, cerr := a[i].LowerBound.Compare(b[i].LowerBound, a[i].Typ)
			if cerr != nil {
				err = cerr
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
	return out, err
}
