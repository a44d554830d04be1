package e2e

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/knshop/knshop/lib/embedded"
	"github.com/knshop/knshop/lib/storetest"
)

// BenchmarkColdStart measures how long the image's binary (cmd/fn) takes
// from exec to its first 200 on /health/readiness, against a bare net/http
// server doing the same, side by side, 15 starts each: for reserve-stock
// (FerretDB) and cancel-order (MySQL, the embedded engine). It reports the
// medians and their ratio; and the median of the bare server linked with
// every function but starting none (testdata/bare built with -tags
// linked), which tells how much of the ratio linking alone costs.
func BenchmarkColdStart(b *testing.B) {
	dir := b.TempDir()
	fnBin, bareBin, linkedBin := filepath.Join(dir, "fn"), filepath.Join(dir, "bare"), filepath.Join(dir, "linked")
	for out, args := range map[string][]string{fnBin: {"../cmd/fn"}, bareBin: {"./testdata/bare"}, linkedBin: {"-tags", "linked", "./testdata/bare"}} {
		if msg, err := exec.Command("go", append([]string{"build", "-o", out}, args...)...).CombinedOutput(); err != nil {
			b.Fatalf("build %v: %v\n%s", args, err, msg)
		}
	}
	ctx := context.Background()
	mysql, err := embedded.StartMySQL(ctx, "", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(mysql.Close)
	mongo, err := embedded.StartMongo(ctx, filepath.Join(dir, "mongo"), "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(mongo.Close)
	env := []string{"MYSQL_DSN=" + mysql.DSN(), "MONGODB_URI=" + mongo.URI(), "K_SINK=http://127.0.0.1:1", "LOG_LEVEL=error"}
	for _, function := range []string{"reserve-stock", "cancel-order"} {
		b.Run(function, func(b *testing.B) {
			var fnTimes, bareTimes, linkedTimes []time.Duration
			for b.Loop() {
				fnTimes, bareTimes, linkedTimes = nil, nil, nil
				startOnce(b, fnBin, append(env, "FUNCTION="+function)) // migrations happen here, not in the timing
				for range 15 {
					fnTimes = append(fnTimes, startOnce(b, fnBin, append(env, "FUNCTION="+function)))
					bareTimes = append(bareTimes, startOnce(b, bareBin, nil))
					linkedTimes = append(linkedTimes, startOnce(b, linkedBin, nil))
				}
			}
			fnMed, bareMed, linkedMed := median(fnTimes), median(bareTimes), median(linkedTimes)
			b.ReportMetric(float64(fnMed)/float64(time.Millisecond), "ms-fn-median")
			b.ReportMetric(float64(bareMed)/float64(time.Millisecond), "ms-bare-median")
			b.ReportMetric(float64(linkedMed)/float64(time.Millisecond), "ms-linked-median")
			b.ReportMetric(float64(fnMed)/float64(bareMed), "ratio")
			b.ReportMetric(float64(linkedMed)/float64(bareMed), "ratio-linked")
		})
	}
}

// median is the middle of ts.
func median(ts []time.Duration) time.Duration {
	slices.Sort(ts)
	return ts[len(ts)/2]
}

// startOnce starts bin with env on a free port, waits for readiness and
// stops it; it returns the time from exec to the first 200.
func startOnce(b *testing.B, bin string, env []string) time.Duration {
	b.Helper()
	addr := storetest.FreeAddr(b)
	cmd := exec.Command(bin)
	cmd.Env = append(append(os.Environ(), env...), "PORT="+addr[strings.LastIndex(addr, ":")+1:])
	url := "http://" + addr + "/health/readiness"
	client := &http.Client{Timeout: time.Second}
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	for time.Since(begin) < 20*time.Second {
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(begin)
			}
		}
		time.Sleep(200 * time.Microsecond)
	}
	b.Fatalf("%s never became ready", bin)
	return 0
}
