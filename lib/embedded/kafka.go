package embedded

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Kafka is an in-process, single-broker Kafka protocol server.
type Kafka struct {
	cluster *kfake.Cluster
}

// StartKafka starts a one-broker kfake cluster listening on addr
// (for example "127.0.0.1:9092", or "127.0.0.1:0" for any free port).
// Topics are created on first use by producers and by metadata requests
// that ask for it, with the given number of partitions (default 10).
func StartKafka(ctx context.Context, addr string, opts ...Option) (*Kafka, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("embedded: start kafka: %w", err)
	}
	o := buildOptions(opts)
	listen := func(network, _ string) (net.Listener, error) {
		var lc net.ListenConfig
		return lc.Listen(ctx, network, addr)
	}
	kopts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.ListenFn(listen),
		kfake.AllowAutoTopicCreation(),
		kfake.ClusterID("knshop"),
	}
	if o.log != nil {
		kopts = append(kopts, kfake.WithLogger(kafkaLogger{o.log}))
	}
	c, err := kfake.NewCluster(kopts...)
	if err != nil {
		return nil, fmt.Errorf("embedded: start kafka on %s: %w", addr, err)
	}
	return &Kafka{cluster: c}, nil
}

// Addrs returns the bootstrap addresses of the cluster.
func (k *Kafka) Addrs() []string { return k.cluster.ListenAddrs() }

// Close stops the cluster; its data is gone.
func (k *Kafka) Close() { k.cluster.Close() }

// kafkaLogger adapts slog to kfake's logger. kfake logs every request at
// its Info level, so that and Debug become slog Debug.
type kafkaLogger struct{ log *slog.Logger }

func (l kafkaLogger) Logf(level kfake.LogLevel, msg string, args ...any) {
	var lv slog.Level
	switch level {
	case kfake.LogLevelError:
		lv = slog.LevelError
	case kfake.LogLevelWarn:
		lv = slog.LevelWarn
	default:
		lv = slog.LevelDebug
	}
	ctx := context.Background()
	if l.log.Enabled(ctx, lv) {
		l.log.Log(ctx, lv, fmt.Sprintf(msg, args...), "part", "kfake")
	}
}
