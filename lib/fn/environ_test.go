package fn

import "testing"

func TestListenAddress(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		cfg  map[string]string
		want string
	}{
		"default":                   {cfg: map[string]string{}, want: ":8080"},
		"Knative PORT":              {cfg: map[string]string{"PORT": "9000"}, want: ":9000"},
		"LISTEN_ADDRESS wins":       {cfg: map[string]string{"PORT": "9000", "LISTEN_ADDRESS": "127.0.0.1:7000"}, want: "127.0.0.1:7000"},
		"LISTEN_ADDRESS on its own": {cfg: map[string]string{"LISTEN_ADDRESS": ":8081"}, want: ":8081"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := ListenAddress(tc.cfg); got != tc.want {
				t.Fatalf("listenAddress = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestEnviron(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in   []string
		want map[string]string
	}{
		"plain":                  {in: []string{"A=1", "B=2"}, want: map[string]string{"A": "1", "B": "2"}},
		"value with equals sign": {in: []string{"MYSQL_DSN=u:p@tcp(h:3306)/?x=y"}, want: map[string]string{"MYSQL_DSN": "u:p@tcp(h:3306)/?x=y"}},
		"empty value kept":       {in: []string{"E="}, want: map[string]string{"E": ""}},
		"malformed dropped":      {in: []string{"NOEQUALS", "=x"}, want: map[string]string{}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := Environ(tc.in)
			if len(got) != len(tc.want) {
				t.Fatalf("environ = %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Fatalf("environ[%s] = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}
