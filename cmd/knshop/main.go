// Command knshop runs knshop on one machine.
//
//	knshop dev        everything: embedded Kafka, MongoDB and MySQL (unless
//	                  KAFKA_BOOTSTRAP_SERVERS, MONGODB_URI, MYSQL_DSN are set),
//	                  the local Broker, every function, the gateway on :8080
//	knshop fn NAME    one function alone, as its container serves it:
//	                  on LISTEN_ADDRESS, else :PORT, else :8080
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/knshop/knshop/cmd/knshop/devstack"
	"github.com/knshop/knshop/functions"
	"github.com/knshop/knshop/lib/fn"
)

func main() {
	if err := run(os.Args[1:], fn.Environ(os.Environ()), os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "knshop:", err)
		os.Exit(1)
	}
}

func run(args []string, env map[string]string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usage(stderr)
	}
	switch args[0] {
	case "dev":
		return dev(args[1:], env, stdout, stderr)
	case "fn":
		return serveOne(args[1:], env)
	case "load":
		return load(args[1:], stdout)
	}
	return usage(stderr)
}

func usage(w io.Writer) error {
	fmt.Fprintln(w, "usage: knshop dev [flags] | knshop fn NAME | knshop load [flags]")
	return fmt.Errorf("unknown command")
}

// devGCPercent is the garbage collector's target of `knshop dev` unless
// GOGC is set.
const devGCPercent = 400

func dev(args []string, env map[string]string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	data := fs.String("data", ".knshop", "directory for the embedded databases and local secrets")
	addr := fs.String("addr", ":8080", "gateway address")
	relay := fs.Duration("relay-every", time.Minute, "how often the outbox relay runs")
	reconcile := fs.Duration("reconcile-every", 30*time.Second, "how often reconcile-orders checks order deadlines and stalled orders")
	broker := fs.String("broker-addr", "127.0.0.1:8081", "the local Broker's address")
	kafka := fs.String("kafka-addr", "127.0.0.1:9092", "the embedded Kafka's address")
	mongo := fs.String("mongo-addr", "127.0.0.1:27017", "the embedded MongoDB's address")
	mysql := fs.String("mysql-addr", "127.0.0.1:3306", "the embedded MySQL's address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := fn.NewLogger(stderr, env)
	if env["GOGC"] == "" {
		// Every function, broker and server of the shop shares this one
		// heap; collecting it less often bought a third off the saga's
		// latency at 50 orders/s for ~500 MB (docs/benchmarks.md). GOGC
		// set in the environment wins.
		debug.SetGCPercent(devGCPercent)
	}
	if addr := env["KNSHOP_PPROF"]; addr != "" {
		// Profiling the whole local stack under load (docs/benchmarks.md):
		// net/http/pprof's handlers on their own loopback address.
		go func() {
			if err := http.ListenAndServe(addr, nil); err != nil {
				log.Warn("pprof server stopped", "error", err)
			}
		}()
	}
	stack, err := devstack.Start(ctx, devstack.Options{
		DataDir: *data, GatewayAddr: *addr, BrokerAddr: *broker, KafkaAddr: *kafka, MongoAddr: *mongo, MySQLAddr: *mysql,
		Env: env, RelayEvery: *relay, ReconcileEvery: *reconcile, Log: log,
	})
	if err != nil {
		return err
	}
	printParts(stdout, stack, *data)
	<-ctx.Done()
	fmt.Fprintln(stdout, "knshop: stopping")
	return stack.Close()
}

func printParts(w io.Writer, s *devstack.Stack, data string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PART\tWHERE\tNOTE")
	for _, p := range s.Parts {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Name, p.Where, p.Note)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nknshop is up: API %s/api, Broker %s\n", s.GatewayURL, s.BrokerURL)
	fmt.Fprintf(w, "admin account: ADMIN_EMAIL (default admin@knshop.local), password in %s/admin-password unless ADMIN_PASSWORD is set\n", data)
	fmt.Fprintln(w, "Ctrl-C stops everything.")
}

func serveOne(args []string, env map[string]string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: knshop fn NAME (one of %s)", strings.Join(functions.Names(functions.All), ", "))
	}
	env["FUNCTION"] = args[0]
	return functions.Serve(context.Background(), functions.All, env)
}
