package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRunRefusesWhatItCannotServe(t *testing.T) {
	cases := map[string]struct {
		args    []string
		wantErr string
	}{
		"no command":      {nil, "unknown command"},
		"unknown command": {[]string{"serve"}, "unknown command"},
		"fn without name": {[]string{"fn"}, "usage: knshop fn NAME"},
		"fn unknown name": {[]string{"fn", "no-such-function"}, `no function "no-such-function"`},
		"dev bad flag":    {[]string{"dev", "-nope"}, "flag provided but not defined"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var out, errw bytes.Buffer
			err := run(tc.args, map[string]string{}, &out, &errw)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("run(%q) = %v, want an error containing %q", tc.args, err, tc.wantErr)
			}
		})
	}
}

func TestFnListsEveryFunctionInItsError(t *testing.T) {
	err := run([]string{"fn", "x"}, map[string]string{}, &bytes.Buffer{}, &bytes.Buffer{})
	for _, name := range []string{"auth", "orders", "reserve-stock", "relay-outbox"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Fatalf("error %v does not list %s", err, name)
		}
	}
}
