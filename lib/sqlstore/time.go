package sqlstore

import "time"

// Time is t as a DATETIME(6) column keeps it: in UTC, to the microsecond.
// Stores take their times through it, so a time they return, or write into
// a JSON column beside the row's own times, is the time a read gives back.
func Time(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
