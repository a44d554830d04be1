package identity

import "testing"

func TestEmails(t *testing.T) {
	cases := map[string]struct {
		in    string
		norm  string
		valid bool
	}{
		"plain":            {"ann@example.com", "ann@example.com", true},
		"mixed case":       {" Ann@Example.COM ", "ann@example.com", true},
		"plus tag":         {"ann+shop@example.co.uk", "ann+shop@example.co.uk", true},
		"no at":            {"ann.example.com", "ann.example.com", false},
		"no dot in domain": {"ann@localhost", "ann@localhost", false},
		"display name":     {"Ann <ann@example.com>", "ann <ann@example.com>", false},
		"two ats":          {"a@b@example.com", "a@b@example.com", false},
		"empty":            {"", "", false},
		"inner space":      {"an n@example.com", "an n@example.com", false},
		"trailing dot":     {"ann@example.", "ann@example.", false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			n := NormalizeEmail(tc.in)
			if n != tc.norm || ValidEmail(n) != tc.valid {
				t.Fatalf("NormalizeEmail(%q) = %q, valid %v; want %q, %v", tc.in, n, ValidEmail(n), tc.norm, tc.valid)
			}
		})
	}
}
