package settings

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

func number(key string) func(map[string]string) (int, error) {
	return func(cfg map[string]string) (int, error) {
		n, err := strconv.Atoi(cfg[key])
		if err != nil {
			return 0, errors.New(key + " is not a number")
		}
		return n, nil
	}
}

func TestSettingsReadEveryPartAndReportEveryError(t *testing.T) {
	s := Of(map[string]string{"A": "1", "B": "x", "C": "3"})
	a, b, c := Read(s, number("A")), Read(s, number("B")), Read(s, number("C"))
	s.Check(errors.New("D is missing"))
	if a != 1 || b != 0 || c != 3 {
		t.Fatalf("read %d %d %d, want 1 0 3", a, b, c)
	}
	err := s.Err("f: config")
	if err == nil {
		t.Fatal("no error for B and D")
	}
	want := "f: config: B is not a number\nD is missing"
	if err.Error() != want {
		t.Fatalf("error %q, want %q", err, want)
	}
}

func TestSettingsWithNothingWrongHaveNoError(t *testing.T) {
	s := Of(map[string]string{"A": "7"})
	if v := Read(s, number("A")); v != 7 {
		t.Fatalf("A = %d", v)
	}
	s.Check(nil)
	if err := s.Err("f: config"); err != nil {
		t.Fatalf("error %v", err)
	}
}

func TestDurationIsPositiveOrTheDefault(t *testing.T) {
	s := Of(map[string]string{"A": "90s", "B": "-1s", "C": "soon", "D": "0s"})
	if a, e := s.Duration("A", time.Hour), s.Duration("E", time.Hour); a != 90*time.Second || e != time.Hour {
		t.Fatalf("A = %v, E (unset) = %v", a, e)
	}
	for _, key := range []string{"B", "C", "D"} {
		if d := s.Duration(key, time.Hour); d != time.Hour {
			t.Fatalf("%s = %v, want the default", key, d)
		}
	}
	want := "f: config: B=\"-1s\" is not a positive duration\nC=\"soon\" is not a positive duration\nD=\"0s\" is not a positive duration"
	if err := s.Err("f: config"); err == nil || err.Error() != want {
		t.Fatalf("error %q, want %q", err, want)
	}
}

func TestSettingsOneErrorReadsAsItself(t *testing.T) {
	s := Of(nil)
	Read(s, number("A"))
	if err := s.Err("f: start"); err == nil || !strings.HasSuffix(err.Error(), ": A is not a number") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error %q", err)
	}
}
