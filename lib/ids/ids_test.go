package ids

import "testing"

func TestNewIsValidAndUnique(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 1000 {
		id := New()
		if !Valid(id) {
			t.Fatalf("New() = %q is not valid", id)
		}
		if seen[id] {
			t.Fatalf("New() repeated %q", id)
		}
		seen[id] = true
	}
}

func TestDeriveIsStable(t *testing.T) {
	t.Parallel()
	a, b := Derive("order-1", "payment"), Derive("order-1", "payment")
	if a != b || !Valid(a) {
		t.Fatalf("Derive not stable or invalid: %q %q", a, b)
	}
	if Derive("order-2", "payment") == a {
		t.Fatal("Derive ignores its namespace")
	}
	if err := Check("productId", "nope"); err == nil {
		t.Fatal("Check accepted a non-id")
	}
}
