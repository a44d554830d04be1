package embedded

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/sqltypes"
)

// The storage compares strings of the default collation by their bytes
// (bytewise); that must order every pair as the engine's own comparison
// does, including strings it cannot decode, and leave other collations to
// the engine.
func TestBytewiseOrderIsTheEngines(t *testing.T) {
	typ := types.MustCreateString(sqltypes.VarChar, 191, sql.Collation_utf8mb4_0900_bin)
	if !bytewise(typ) {
		t.Fatal("VARCHAR of utf8mb4_0900_bin is not compared bytewise")
	}
	for _, other := range []sql.Type{
		types.MustCreateString(sqltypes.VarChar, 191, sql.Collation_utf8mb4_general_ci),
		types.MustCreateString(sqltypes.VarChar, 191, sql.Collation_utf8mb4_bin),
		types.Int64, types.Blob,
	} {
		if bytewise(other) {
			t.Errorf("%s is compared bytewise", other)
		}
	}
	pieces := []string{"", "a", "b", "A", "z", " ", "0", "é", "ß", "€", "𝄞", "\u007f", "\u0080", "\uffff", "\xff", "\xc3", "ord_", "-"}
	word := func(r *rand.Rand) string {
		s := ""
		for range r.IntN(5) {
			s += pieces[r.IntN(len(pieces))]
		}
		return s
	}
	r := rand.New(rand.NewPCG(1, 2))
	ctx := context.Background()
	for range 20000 {
		a, b := word(r), word(r)
		want, err := typ.Compare(ctx, a, b)
		if err != nil {
			// The engine cannot decode one of them: compare orders them by
			// their text, as it did before the bytewise path.
			want = strings.Compare(fmt.Sprintf("%T %v", a, a), fmt.Sprintf("%T %v", b, b))
		}
		if got := compare(typ, a, b); got != want {
			t.Fatalf("compare(%q, %q) = %d, the engine says %d", a, b, got, want)
		}
	}
}

// BenchmarkCompareKeys orders two order ids, as every step down a table's
// B-tree does: through the storage's compare, and through the engine's
// comparison it replaces for the default collation.
func BenchmarkCompareKeys(b *testing.B) {
	typ := types.MustCreateString(sqltypes.VarChar, 191, sql.Collation_utf8mb4_0900_bin)
	x, y := "ord_01JF8ZQ3M5K7W9X2Y4B6C8D0E1", "ord_01JF8ZQ3M5K7W9X2Y4B6C8D0F2"
	b.Run("storage", func(b *testing.B) {
		for b.Loop() {
			compare(typ, x, y)
		}
	})
	b.Run("engine", func(b *testing.B) {
		ctx := context.Background()
		for b.Loop() {
			_, _ = typ.Compare(ctx, x, y)
		}
	})
}
