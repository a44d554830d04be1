package mongostore_test

import (
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/knshop/knshop/lib/metrics"
	"github.com/knshop/knshop/lib/mongostore"
	"github.com/knshop/knshop/lib/storetest"
)

// Every command a store sends is counted and timed by database, collection,
// command and outcome, so the round trips of a step can be read from
// /metrics.
func TestCommandsAreMeasured(t *testing.T) {
	c := storetest.Mongo(t, "measured")
	db, err := mongostore.Open(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mongostore.Close(t.Context(), db) })
	coll := db.Collection("things")
	before := commands(t, c.Database, "things", "insert", "ok")
	for i := range 3 {
		if _, err := coll.InsertOne(t.Context(), bson.D{{Key: "_id", Value: i}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := coll.InsertOne(t.Context(), bson.D{{Key: "_id", Value: 0}}); !mongostore.IsDuplicateKey(err) {
		t.Fatalf("a duplicate insert: %v", err)
	}
	// The duplicate is a round trip too: its write error comes back in an
	// ok reply (writeErrors), so the driver reports the command done.
	if got := commands(t, c.Database, "things", "insert", "ok") - before; got != 4 {
		t.Errorf("%d inserts counted, want 4", got)
	}
	if got := commands(t, c.Database, "things", "find", "ok"); got != 0 {
		t.Errorf("%d finds counted before any find", got)
	}
	if err := coll.FindOne(t.Context(), bson.D{{Key: "_id", Value: 1}}).Err(); err != nil {
		t.Fatal(err)
	}
	if got := commands(t, c.Database, "things", "find", "ok"); got != 1 {
		t.Errorf("%d finds counted, want 1", got)
	}
	// A command the server refuses is an error; a command that names no
	// collection has an empty one.
	if err := db.RunCommand(t.Context(), bson.D{{Key: "noSuchCommand", Value: 1}}).Err(); err == nil {
		t.Fatal("an unknown command succeeded")
	}
	if got := commands(t, c.Database, "", "noSuchCommand", "error"); got != 1 {
		t.Errorf("%d refused commands counted, want 1", got)
	}
}

// commands is how many commands /metrics counts for database, collection,
// command and outcome.
func commands(t *testing.T, database, collection, command, outcome string) int {
	t.Helper()
	return int(storetest.MetricValue(storetest.Metrics(t, metrics.Handler()), "knshop_mongodb_command_duration_seconds",
		map[string]string{"database": database, "collection": collection, "command": command, "outcome": outcome}))
}
