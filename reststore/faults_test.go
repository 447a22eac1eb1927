package reststore_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlrun-go/mlrun/internal/mlflowhttp"
	"github.com/mlrun-go/mlrun/reststore"
	"github.com/mlrun-go/mlrun/reststore/internal/mlflowserver"
	"github.com/mlrun-go/mlrun/store"
)

// faultHTTP is a transport configuration for the fault tests: one request
// per connection (so that the proxy's faults hit single requests), quick
// retries.
func faultHTTP(retries int, factor time.Duration) *mlflowhttp.Config {
	jitter := factor / 2
	return &mlflowhttp.Config{MaxRetries: &retries, BackoffFactor: &factor, BackoffJitter: &jitter,
		Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
}

func openVia(t *testing.T, uri string, cfg *mlflowhttp.Config) *reststore.Store {
	t.Helper()
	s, err := reststore.Open(ctx, uri, &reststore.Options{HTTP: cfg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func hostPort(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// ledger records which batches a LogBatch acknowledged.
type ledger struct {
	mu     sync.Mutex // guards acked and failed
	acked  map[int]bool
	failed map[int]error
}

func newLedger() *ledger { return &ledger{acked: map[int]bool{}, failed: map[int]error{}} }

func (l *ledger) record(batch int, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err == nil {
		l.acked[batch] = true
	} else {
		l.failed[batch] = err
	}
}

const pointsPerBatch = 25

// batchPoints are the points of batch b: steps b*25 .. b*25+24, values
// that must come back bit for bit.
func batchPoints(b int) []store.Metric {
	ms := make([]store.Metric, pointsPerBatch)
	for i := range ms {
		n := b*pointsPerBatch + i
		ms[i] = store.Metric{Key: "loss", Value: float64(n)/7 + 1e-13, Timestamp: 1_700_000_000_000 + int64(n), Step: int64(n)}
	}
	return ms
}

// checkExactlyOnce reads the history directly and checks that every point
// of every acknowledged batch is there exactly once, that points of failed
// batches are there at most once, and that nothing else is.
func checkExactlyOnce(t *testing.T, s *reststore.Store, runID string, l *ledger, batches int) {
	t.Helper()
	h, err := s.GetMetricHistory(ctx, runID, "loss")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]int{}
	for _, m := range h {
		seen[m.Step]++
		b := int(m.Step) / pointsPerBatch
		if want := batchPoints(b)[int(m.Step)%pointsPerBatch]; m != want {
			t.Errorf("point %+v, logged %+v", m, want)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for b := range batches {
		for _, m := range batchPoints(b) {
			switch n := seen[m.Step]; {
			case l.acked[b] && n != 1:
				t.Errorf("acknowledged point step %d stored %d times", m.Step, n)
			case !l.acked[b] && n > 1:
				t.Errorf("point step %d of a failed batch stored %d times", m.Step, n)
			}
		}
	}
	if len(seen) > batches*pointsPerBatch {
		t.Errorf("%d distinct points, logged %d", len(seen), batches*pointsPerBatch)
	}
}

// TestFaultyNetwork logs through a loopback proxy that delays and drops
// connections, before the request or after it (when the server has
// processed it): every point of every acknowledged LogBatch is stored
// exactly once, and a CreateRun whose answer was lost is not sent again
// (no run is created twice).
func TestFaultyNetwork(t *testing.T) {
	for _, v := range versions() {
		t.Run(v, func(t *testing.T) {
			direct := openFresh(t, v)
			defer direct.Close()
			srv := sharedServer(t, v)
			proxy, err := mlflowserver.NewFaultProxy(hostPort(t, srv.URL), 12, func(r *rand.Rand) mlflowserver.Fault {
				switch x := r.IntN(100); {
				case x < 55:
					return mlflowserver.Pass
				case x < 70:
					return mlflowserver.Delay
				case x < 85:
					return mlflowserver.DropAtOnce
				default:
					return mlflowserver.DropResponse
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			defer proxy.Close()
			s := openVia(t, "http://"+proxy.Addr, faultHTTP(5, 20*time.Millisecond))
			run, err := direct.CreateRun(ctx, store.CreateRunRequest{ExperimentID: "0", RunName: "faulty"})
			if err != nil {
				t.Fatal(err)
			}
			const workers, perWorker = 4, 15
			l := newLedger()
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					for i := range perWorker {
						b := w*perWorker + i
						params := []store.Param{{Key: fmt.Sprintf("p%d", b), Value: "v"}, {Key: "same", Value: "x"}}
						tags := []store.Tag{{Key: fmt.Sprintf("worker%d", w), Value: fmt.Sprint(i)}}
						l.record(b, s.LogBatch(ctx, run.Info.RunID, batchPoints(b), params, tags))
					}
				})
			}
			// Creates through the same proxy: one run per name at most.
			var createdOK, createdErr atomic.Int32
			names := make([]string, 20)
			okNames := map[string]bool{}
			var okMu sync.Mutex
			wg.Go(func() {
				for i := range names {
					names[i] = fmt.Sprintf("create-%02d", i)
					_, err := s.CreateRun(ctx, store.CreateRunRequest{ExperimentID: "0", RunName: names[i]})
					if err != nil {
						createdErr.Add(1)
						continue
					}
					createdOK.Add(1)
					okMu.Lock()
					okNames[names[i]] = true
					okMu.Unlock()
				}
			})
			wg.Wait()
			checkExactlyOnce(t, direct, run.Info.RunID, l, workers*perWorker)
			counts := map[string]int{}
			for _, r := range allRunsOf(t, direct, "0") {
				counts[r.Info.RunName]++
			}
			for _, n := range names {
				switch c := counts[n]; {
				case okNames[n] && c != 1:
					t.Errorf("acknowledged CreateRun %s made %d runs", n, c)
				case c > 1:
					t.Errorf("CreateRun %s made %d runs", n, c)
				}
			}
			r, err := direct.GetRun(ctx, run.Info.RunID)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Data.Params) < len(l.acked)+1 {
				t.Errorf("%d params for %d acknowledged batches", len(r.Data.Params), len(l.acked))
			}
			attempts, retries := s.HTTPClient().Stats()
			fc := proxy.Counts()
			t.Logf("MLflow %s: %d batches acknowledged, %d failed; creates %d ok, %d failed; %d attempts, %d retries; proxy %v",
				v, len(l.acked), len(l.failed), createdOK.Load(), createdErr.Load(), attempts, retries, fc)
			if fc["drop-response"] == 0 || fc["drop-at-once"] == 0 || retries == 0 {
				t.Errorf("the proxy injected too few faults: %v, %d retries", fc, retries)
			}
			if len(l.acked) < workers*perWorker*9/10 {
				t.Errorf("only %d of %d batches acknowledged: retries do not ride out the faults", len(l.acked), workers*perWorker)
			}
		})
	}
}

func allRunsOf(t *testing.T, s *reststore.Store, exp string) []*store.Run {
	t.Helper()
	var out []*store.Run
	q := store.RunQuery{ExperimentIDs: []string{exp}, ViewType: store.AllViews}
	for {
		p, err := s.SearchRuns(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Runs...)
		if p.NextPageToken == "" {
			return out
		}
		q.PageToken = p.NextPageToken
	}
}

// TestServerKilled kills the server with SIGKILL in the middle of a run
// and starts it again on the same port and database: the logger's retries
// ride out the outage, and every acknowledged point is stored exactly
// once. It runs against the PostgreSQL servers (a team's setup; a restart
// takes seconds, so not on every version).
func TestServerKilled(t *testing.T) {
	for _, v := range versions() {
		if !usesPostgres(v) {
			continue
		}
		t.Run(v, func(t *testing.T) {
			direct := openFresh(t, v)
			defer direct.Close()
			srv := sharedServer(t, v)
			// Up to 9 retries, 0.1 s doubling: about 50 s of patience.
			s := openVia(t, srv.URL, faultHTTP(9, 100*time.Millisecond))
			run, err := direct.CreateRun(ctx, store.CreateRunRequest{ExperimentID: "0", RunName: "killed"})
			if err != nil {
				t.Fatal(err)
			}
			const batches = 80
			l := newLedger()
			killAt := make(chan struct{})
			done := make(chan struct{})
			// An asynchronous mlrun run logs beside it through the same
			// store; its Flush after the outage acknowledges every point.
			arun := asyncRun(t, direct, s, "killed-async")
			go func() {
				defer close(done)
				for b := range batches {
					if b == 20 {
						close(killAt)
					}
					l.record(b, s.LogBatch(ctx, run.Info.RunID, batchPoints(b), nil, nil))
					if err := arun.LogBatch(ctx, batchPoints(b), nil, nil); err != nil {
						t.Error(err)
					}
				}
			}()
			<-killAt
			time.Sleep(50 * time.Millisecond) // let a request be in flight
			srv.Kill()
			// A create while the server is down is refused at connect:
			// nothing was sent, so it is retried until the server is back.
			created := make(chan error, 1)
			go func() {
				_, err := s.CreateRun(ctx, store.CreateRunRequest{ExperimentID: "0", RunName: "during-outage"})
				created <- err
			}()
			time.Sleep(500 * time.Millisecond)
			start := time.Now()
			if err := srv.Restart(ctx); err != nil {
				t.Fatal(err)
			}
			t.Logf("MLflow %s restarted in %v", v, time.Since(start).Round(time.Millisecond))
			<-done
			// A refused connection is retried; but a restarting server may
			// also accept a connection and reset it after the request was
			// sent, and then the create is not retried (the client cannot
			// tell it from a server that crashed after creating the run).
			createErr := <-created
			if createErr != nil {
				t.Logf("CreateRun during the outage: %v", createErr)
			}
			l.mu.Lock()
			if len(l.failed) > 0 {
				for b, err := range l.failed {
					t.Errorf("batch %d failed: %v", b, err)
					break
				}
			}
			l.mu.Unlock()
			checkExactlyOnce(t, direct, run.Info.RunID, l, batches)
			aerr := arun.Flush(ctx)
			al := newLedger()
			for b := range batches {
				al.record(b, aerr)
			}
			if aerr != nil {
				t.Errorf("asynchronous run: Flush after the outage: %v", aerr)
			}
			checkExactlyOnce(t, direct, arun.ID(), al, batches)
			n := 0
			for _, r := range allRunsOf(t, direct, "0") {
				if r.Info.RunName == "during-outage" {
					n++
				}
			}
			if (createErr == nil && n != 1) || n > 1 {
				t.Errorf("%d runs named during-outage (CreateRun error: %v)", n, createErr)
			}
			attempts, retries := s.HTTPClient().Stats()
			t.Logf("MLflow %s: %d attempts, %d retries", v, attempts, retries)
		})
	}
}

// TestRetriesRunOut: when every connection fails, calls return an error
// in bounded time; a create whose answer is lost fails after one attempt
// (the server did create the run, once); a LogBatch is retried and then
// fails.
func TestRetriesRunOut(t *testing.T) {
	v := versions()[len(versions())-1]
	direct := openFresh(t, v)
	defer direct.Close()
	srv := sharedServer(t, v)
	proxy, err := mlflowserver.NewFaultProxy(hostPort(t, srv.URL), 1, func(*rand.Rand) mlflowserver.Fault { return mlflowserver.DropAtOnce })
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	s := openVia(t, "http://"+proxy.Addr, faultHTTP(3, 10*time.Millisecond))
	run, err := direct.CreateRun(ctx, store.CreateRunRequest{ExperimentID: "0", RunName: "r"})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = s.LogBatch(ctx, run.Info.RunID, batchPoints(0), nil, nil)
	if !errors.Is(err, mlflowhttp.ErrRetriesExhausted) {
		t.Errorf("LogBatch with every connection dropped: %v, want ErrRetriesExhausted", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("gave up after %v", d)
	}
	if a, _ := s.HTTPClient().Stats(); a != 4 {
		t.Errorf("%d attempts, want 4", a)
	}

	proxy.SetChoose(func(*rand.Rand) mlflowserver.Fault { return mlflowserver.DropResponse })
	s2 := openVia(t, "http://"+proxy.Addr, faultHTTP(3, 10*time.Millisecond))
	if _, err := s2.CreateRun(ctx, store.CreateRunRequest{ExperimentID: "0", RunName: "lost-answer"}); err == nil {
		t.Error("CreateRun with the answer dropped succeeded")
	}
	if a, _ := s2.HTTPClient().Stats(); a != 1 {
		t.Errorf("CreateRun sent %d times, want 1", a)
	}
	err = s2.LogBatch(ctx, run.Info.RunID, batchPoints(1), nil, nil)
	if !errors.Is(err, mlflowhttp.ErrRetriesExhausted) {
		t.Errorf("LogBatch with every answer dropped: %v, want ErrRetriesExhausted", err)
	}
	if a, _ := s2.HTTPClient().Stats(); a != 1+4 {
		t.Errorf("%d attempts in all, want 5", a)
	}
	n := 0
	for _, r := range allRunsOf(t, direct, "0") {
		if r.Info.RunName == "lost-answer" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d runs named lost-answer, want 1 (the server processed the create once)", n)
	}
	// The unacknowledged batch was processed, repeatedly, yet stored once.
	h, err := direct.GetMetricHistory(ctx, run.Info.RunID, "loss")
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != pointsPerBatch {
		t.Errorf("history has %d points after 4 deliveries of one batch, want %d", len(h), pointsPerBatch)
	}
}
