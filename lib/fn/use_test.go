package fn

import (
	"context"
	"errors"
	"net/http"
	"testing"
)

type fakeStore struct {
	name   string
	down   bool
	closed *[]string
}

func (s *fakeStore) Ping(context.Context) error {
	if s.down {
		return errors.New("down")
	}
	return nil
}
func (s *fakeStore) Close() error { *s.closed = append(*s.closed, s.name); return nil }

type ctxCloser struct{ closed *[]string }

func (c ctxCloser) Close(context.Context) error { *c.closed = append(*c.closed, "ctx"); return nil }

type usesStores struct {
	a, b *fakeStore
	c    ctxCloser
	fail error
}

func (u *usesStores) Handle(w http.ResponseWriter, r *http.Request) {}
func (u *usesStores) Start(ctx context.Context, cfg map[string]string) error {
	if err := Use(ctx, u.a, nil); err != nil {
		return err
	}
	if err := Use(ctx, u.c, nil); err != nil {
		return err
	}
	if u.fail != nil {
		return Use(ctx, nil, u.fail)
	}
	return Use(ctx, u.b, nil)
}

func TestUseKeepsPingsAndClosesResources(t *testing.T) {
	var closed []string
	f := &usesStores{a: &fakeStore{name: "a", closed: &closed}, b: &fakeStore{name: "b", closed: &closed}, c: ctxCloser{&closed}}
	inst, err := NewInstance("uses", f, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := inst.Start(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	if ok, err := inst.Ready(t.Context()); !ok || err != nil {
		t.Fatalf("ready = %v, %v", ok, err)
	}
	f.b.down = true
	if ok, err := inst.Ready(t.Context()); ok || err == nil {
		t.Fatalf("a store that does not answer: ready = %v, %v", ok, err)
	}
	if err := inst.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(closed) != 3 || closed[0] != "b" || closed[1] != "ctx" || closed[2] != "a" {
		t.Fatalf("closed %v, want b, ctx, a (last kept first)", closed)
	}
}

func TestAFailedStartClosesWhatItOpened(t *testing.T) {
	var closed []string
	boom := errors.New("boom")
	f := &usesStores{a: &fakeStore{name: "a", closed: &closed}, c: ctxCloser{&closed}, fail: boom}
	inst, _ := NewInstance("uses", f, nil)
	if err := inst.Start(t.Context(), nil); !errors.Is(err, boom) {
		t.Fatalf("start = %v", err)
	}
	if len(closed) != 2 {
		t.Fatalf("closed %v, want both opened", closed)
	}
}

func TestUseOutsideTheRuntime(t *testing.T) {
	if err := Use(t.Context(), &fakeStore{}, nil); !errors.Is(err, ErrNoRuntime) {
		t.Fatalf("Use outside = %v", err)
	}
	var res resources
	if err := Use(withResources(t.Context(), &res), struct{}{}, nil); err == nil {
		t.Fatal("a value without Close was kept")
	}
	var nilStore *fakeStore
	if err := Use(withResources(t.Context(), &res), nilStore, nil); err != nil || len(res.list) != 0 {
		t.Fatalf("a nil store: %v, kept %d", err, len(res.list))
	}
}

func TestKeepClosesWhatStartOpened(t *testing.T) {
	var closed []string
	closeAll, err := Keep(t.Context(), func(ctx context.Context) error {
		return Use(ctx, &fakeStore{name: "a", closed: &closed}, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(closed) != 0 {
		t.Fatal("closed before asked")
	}
	if err := closeAll(t.Context()); err != nil || len(closed) != 1 {
		t.Fatalf("close = %v, closed %v", err, closed)
	}
	boom := errors.New("boom")
	if _, err := Keep(t.Context(), func(ctx context.Context) error {
		_ = Use(ctx, &fakeStore{name: "b", closed: &closed}, nil)
		return boom
	}); !errors.Is(err, boom) || len(closed) != 2 {
		t.Fatalf("failed start = %v, closed %v", err, closed)
	}
}
