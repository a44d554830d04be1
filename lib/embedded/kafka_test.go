package embedded_test

import (
	"testing"

	"github.com/knshop/knshop/lib/embedded"
	"github.com/knshop/knshop/lib/storetest"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestKafkaListensWhereAskedAndCreatesTopics(t *testing.T) {
	addr := storetest.FreeAddr(t)
	k, err := embedded.StartKafka(t.Context(), addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Close)
	if got := k.Addrs(); len(got) != 1 || got[0] != addr {
		t.Fatalf("Addrs() = %v, want [%s]", got, addr)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	res := cl.ProduceSync(t.Context(), &kgo.Record{Topic: "knative-broker-knshop-default", Value: []byte("x")})
	if err := res.FirstErr(); err != nil {
		t.Fatalf("produce to a new topic: %v", err)
	}
}
