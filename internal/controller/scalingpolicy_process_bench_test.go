//go:build linux

// Linux only: the child's memory is read from /proc, and the child is tied
// to the test process with Pdeathsig.

package controller_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/trimtab/trimtab/internal/controller"
	"github.com/trimtab/trimtab/internal/manager"
	"github.com/trimtab/trimtab/internal/testenv"
)

// How long the child runs: after its first cycle, at least
// processMinCycles more cycles and processRewrites × n status writes.
// Status writes are the slow part at 10,000 policies: the first cycle
// queues every policy's first status, which the API server writes at
// ~140 a second, and a peak that only shows while statuses are written
// must be in the run. (Later statuses whose values alone changed are
// refreshed within a budget of 20 writes a second.)
const (
	processMinCycles = 24
	processRewrites  = 1
)

// BenchmarkScalingControllerProcess measures what a container limit
// counts: the resident memory of the production binary. `trimtab
// controller`, built with `go build`, runs as a child process against the
// same API server and Prometheus as BenchmarkScalingCycle, with the same
// 1,000 or 10,000 ScalingPolicies, and runs its own cycles at its default
// sync period (15 s) with production flags (leader election on, every
// namespace watched). The exporter's values change every 5 s, so every
// cycle changes every status's values. The child runs until, after its
// first cycle, it has completed at least 24 more cycles (6 minutes) and written n
// statuses, every policy's first (rest_client_requests_total's successful
// PATCHes: status writes are the only patches it sends here), then is
// stopped with SIGTERM; it must exit 0 without an error in its log. b.N
// does not change the run, which is paced by the child's clock: ns/op is
// not reported, and -benchtime 1x keeps Go from running it twice (once
// with b.N = 1, then with the asked N).
//
// Reported, all measured on the child:
//
//   - peak-rss-MiB: VmHWM from /proc/<pid>/status before the stop, the
//     kernel's high-water mark of the resident set over the child's whole
//     life (start-up and informers' first lists included). This is the
//     figure a container limit is compared with.
//   - steady-peak-rss-MiB: the highest VmRSS sampled every 50 ms after the
//     first cycle: the peak of the steady state, without start-up. The
//     kernel's resident-set counters are per-CPU approximations, so this
//     can read a fraction of a MiB above peak-rss-MiB.
//   - rss-MiB: VmRSS before the stop.
//   - rss-file-MiB: of rss-MiB, the pages mapped from files (RssFile):
//     mostly the binary's code and read-only data, which the kernel can
//     drop and read again under pressure; the rest is anonymous memory
//     (the Go heap, stacks and runtime).
//   - heap-inuse-MiB: the child's go_memstats_heap_inuse_bytes at its last
//     scrape, to set the resident set against the heap that
//     BenchmarkScalingCycle reports (a breakdown of the Go runtime's memory
//     is logged).
//   - first-cycle-s and s/cycle: trimtab_scaler_cycle_duration_seconds as
//     the child reports it, for its first cycle and on average over the
//     later ones.
//   - cycles: the cycles after the first that the averages cover.
//   - status-writes/s: status PATCHes per second over those cycles: at
//     most n per cycle (1,000 policies write every status every cycle);
//     at 10,000 the API server's write rate bounds it.
//   - queries/cycle: requests to Prometheus's query API per evaluation time
//     asked, counted on the wire by a reverse proxy on 127.0.0.1 in front
//     of Prometheus (each cycle asks about its own 15 s step, so this is
//     requests per cycle; the proxy adds one local hop to each request).
//   - gomemlimit-MiB (container variant): GOMEMLIMIT given to the child.
//
// The child's /metrics is read every second until its first cycle, then
// every 15 s, as a Prometheus would scrape it: a scrape builds every
// per-policy series, so its garbage belongs in the figures, but not more
// often than in production.
//
// With TRIMTAB_BENCH_PROFILE_DIR set, the child's heap profile (from its
// --pprof.address) is saved there at the end of each variant.
//
// The 10,000-policy variants take minutes to set up and several to run;
// run them with `make bench-scaling`.
func BenchmarkScalingControllerProcess(b *testing.B) {
	bin := buildController(b)
	for _, v := range scalingBenchVariants {
		b.Run(v.name(), func(b *testing.B) { benchControllerProcess(b, bin, v) })
	}
}

// buildController builds the production binary, as `make build` does
// minus the version stamp, into b's temporary directory.
func buildController(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "trimtab")
	// go test puts its own Go first on PATH: the child is built by the
	// toolchain that built the test.
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/trimtab")
	cmd.Dir = testenv.RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build ./cmd/trimtab: %v\n%s", err, out)
	}
	return bin
}

func benchControllerProcess(b *testing.B, bin string, v scalingBenchVariant) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n, containerLimit := v.policies, v.containerMiB<<20
	world := startBenchWorld(ctx, b, v, "proc-"+v.slug())
	wire := startQueryCounter(b, world.prom.URL)
	go advancePhase(ctx, world.exp)

	dir := b.TempDir()
	kubeconfig, err := env.Kubeconfig()
	if err != nil {
		b.Fatal(err)
	}
	kubeconfigPath := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfigPath, kubeconfig, 0o600); err != nil {
		b.Fatal(err)
	}
	var extraEnv []string
	if containerLimit > 0 {
		// There is no cgroup memory limit here, so `trimtab controller`
		// would set no soft limit itself: give it, through GOMEMLIMIT
		// (which it leaves alone), the one it derives from a container
		// limited to containerLimit.
		limit := manager.SoftMemoryLimit(containerLimit)
		extraEnv = append(extraEnv, "GOMEMLIMIT="+strconv.FormatInt(limit, 10))
		b.ReportMetric(float64(limit)/(1<<20), "gomemlimit-MiB")
	}
	child := startChildController(b, bin, filepath.Join(dir, "controller.log"), childEnviron(extraEnv...),
		"controller",
		"--kubeconfig="+kubeconfigPath,
		"--prometheus.url="+wire.url,
		"--metrics.address=127.0.0.1:0",
		"--api.address=127.0.0.1:0",
		"--pprof.address=127.0.0.1:0",
		"--log.format=json",
		// Its own Lease: a child an earlier variant had to kill cannot
		// hold this one's start back by a lease duration.
		"--leader-elect.id=trimtab-bench-"+v.slug(),
	)
	metricsAddr := child.startupAddress(b, "metrics_address")
	rss := sampleRSS(ctx, child.pid())

	var first, last childMetrics
	var firstAt, lastAt time.Time
	for {
		m, err := scrapeChild(ctx, metricsAddr)
		if err != nil {
			child.fatalf(b, "read the controller's metrics: %v", err)
		}
		child.checkRunning(b)
		switch {
		case first.cycles == 0 && m.cycles > 0:
			first, firstAt = m, time.Now()
			rss.markSteady()
			b.Logf("first cycle done %v after the start (%d cycles so far)", time.Since(child.started).Round(time.Second), m.cycles)
		case first.cycles > 0 && m.cycles-first.cycles >= processMinCycles && m.statusWrites-first.statusWrites >= float64(processRewrites*n):
			last, lastAt = m, time.Now()
		}
		if last.cycles > 0 {
			break
		}
		interval := controller.DefaultScalingSyncPeriod
		if first.cycles == 0 {
			// Cheap before the first cycle: the per-policy series do not
			// exist yet, and the first cycle's own duration is only read
			// alone if the scrape lands before the second.
			interval = time.Second
		}
		time.Sleep(interval)
	}
	mem, err := readProcMemory(child.pid())
	if err != nil {
		child.fatalf(b, "read the controller's memory: %v", err)
	}
	if dir := os.Getenv("TRIMTAB_BENCH_PROFILE_DIR"); dir != "" {
		saveHeapProfile(b, child.startupAddress(b, "pprof_address"), filepath.Join(dir, strings.ReplaceAll(b.Name(), "/", "_")+".heap.pprof"))
	}
	cancel() // stops the sampler before the child's exit makes /proc fail
	child.stop(b)
	checkBenchStatus(context.Background(), b, env.Client, world.exp.workloads[n-1])

	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(mem.hwm)/(1<<20), "peak-rss-MiB")
	b.ReportMetric(float64(rss.steadyPeak())/(1<<20), "steady-peak-rss-MiB")
	b.ReportMetric(float64(mem.rss)/(1<<20), "rss-MiB")
	b.ReportMetric(float64(mem.rssFile)/(1<<20), "rss-file-MiB")
	b.ReportMetric(last.heapInuse/(1<<20), "heap-inuse-MiB")
	if first.cycles == 1 {
		b.ReportMetric(first.cycleSeconds, "first-cycle-s")
	} else {
		b.Logf("first-cycle-s not reported: the first scrape after the first cycle saw %d cycles", first.cycles)
	}
	cycles := last.cycles - first.cycles
	b.ReportMetric((last.cycleSeconds-first.cycleSeconds)/float64(cycles), "s/cycle")
	b.ReportMetric(float64(cycles), "cycles")
	b.ReportMetric((last.statusWrites-first.statusWrites)/lastAt.Sub(firstAt).Seconds(), "status-writes/s")
	b.ReportMetric(wire.perStep(), "queries/cycle")
	b.Logf("Go runtime of the child at its last scrape, MiB: %s; resident set %.0f MiB, of which %.0f MiB mapped from files",
		last.memoryClasses(), float64(mem.rss)/(1<<20), float64(mem.rssFile)/(1<<20))
}

// saveHeapProfile writes the child's heap profile (live objects at its
// last garbage collection, and allocations since the start) to path.
func saveHeapProfile(b *testing.B, pprofAddr, path string) {
	b.Helper()
	resp, err := http.Get("http://" + pprofAddr + "/debug/pprof/heap")
	if err != nil {
		b.Fatalf("heap profile: %v", err)
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		b.Fatalf("heap profile: %v", err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	b.Logf("heap profile of the child: %s", path)
}

// advancePhase moves the exporter's values three times per sync period:
// the steps two cycles ask about are then 2-4 phases apart, never the 10
// after which the exporter's values repeat, so every cycle sees every
// value change.
func advancePhase(ctx context.Context, exp *benchExporter) {
	tick := time.NewTicker(controller.DefaultScalingSyncPeriod / 3)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			exp.phase.Add(1)
		}
	}
}

// childEnviron is the test's environment without what would configure the
// child behind its flags' back (TRIMTAB_* variables set flags) or change
// the Go runtime's defaults, plus extra.
func childEnviron(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "TRIMTAB_"), name == "GOMEMLIMIT", name == "GOGC", name == "KUBECONFIG", name == "POD_NAMESPACE":
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// queryCounter is a reverse proxy in front of Prometheus that counts the
// requests to its query API and the evaluation times they ask about.
type queryCounter struct {
	url   string
	proxy *httputil.ReverseProxy

	mu       sync.Mutex
	requests int
	steps    map[string]bool
}

func startQueryCounter(b *testing.B, prometheusURL string) *queryCounter {
	b.Helper()
	target, err := url.Parse(prometheusURL)
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	q := &queryCounter{
		url: "http://" + ln.Addr().String(),
		proxy: &httputil.ReverseProxy{
			Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(target) },
			// The child cancels the query in flight when it stops: not
			// worth a line in the benchmark's output. Any other failure
			// reaches the child, whose logged error fails the run.
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				if r.Context().Err() == nil {
					http.Error(w, err.Error(), http.StatusBadGateway)
				}
			},
		},
		steps: map[string]bool{},
	}
	srv := &http.Server{Handler: q, ReadHeaderTimeout: time.Second}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Close() })
	return q
}

func (q *queryCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/api/v1/query") || strings.HasSuffix(r.URL.Path, "/api/v1/query_range") {
		// client_golang POSTs the query as a form: read the body for the
		// evaluation time, then hand it on unchanged.
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		params := r.URL.Query()
		if form, err := url.ParseQuery(string(body)); err == nil {
			for k, v := range form {
				params[k] = append(params[k], v...)
			}
		}
		at := params.Get("time")
		if at == "" {
			at = "range from " + params.Get("start")
		}
		q.mu.Lock()
		q.requests++
		q.steps[at] = true
		q.mu.Unlock()
	}
	q.proxy.ServeHTTP(w, r)
}

// perStep is the requests per evaluation time asked.
func (q *queryCounter) perStep() float64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.steps) == 0 {
		return 0
	}
	return float64(q.requests) / float64(len(q.steps))
}

// childController is a running `trimtab controller` with its stderr (and
// stdout) in a file.
type childController struct {
	cmd     *exec.Cmd
	logPath string
	started time.Time
	exited  chan struct{}
	waitErr error // set before exited is closed
}

func startChildController(b *testing.B, bin, logPath string, environ []string, args ...string) *childController {
	b.Helper()
	logFile, err := os.Create(logPath)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = logFile.Close() }() // the child has its own descriptor
	cmd := exec.Command(bin, args...)
	cmd.Env = environ
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// A test killed by -timeout runs no cleanup: the kernel then stops
	// the child, which would otherwise outlive the API server it watches.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p := &childController{cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	startErr := make(chan error, 1)
	go func() {
		// Pdeathsig fires when the thread that started the child ends,
		// not the process: this goroutine keeps its thread until the child
		// has exited.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			startErr <- err
			return
		}
		startErr <- nil
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	if err := <-startErr; err != nil {
		b.Fatalf("start %s: %v", bin, err)
	}
	p.started = time.Now()
	// Registered after the world's cleanup, so it runs first: the child
	// never sees its objects deleted.
	b.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

func (p *childController) pid() int { return p.cmd.Process.Pid }

// startupAddress waits for the start-up line and returns the bound
// address it names in field (metrics_address, pprof_address): with port 0
// the kernel picks a free port, and nothing else can take it between
// choice and bind.
func (p *childController) startupAddress(b *testing.B, field string) string {
	b.Helper()
	// A hang guard, not a measurement: the line comes before the child
	// talks to the API server.
	deadline := time.Now().Add(time.Minute)
	for {
		for _, rec := range p.records(b) {
			if rec.fields["msg"] == "trimtab controller starting" {
				if addr, ok := rec.fields[field].(string); ok {
					return addr
				}
			}
		}
		p.checkRunning(b)
		if time.Now().After(deadline) {
			p.fatalf(b, "no start-up line naming %s within a minute", field)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// logRecord is one JSON line of the child's log.
type logRecord struct {
	fields map[string]any
	line   string
}

// records are the child's JSON log records so far; other lines are left
// out (a panic also exits non-zero, which stop reports).
func (p *childController) records(b *testing.B) []logRecord {
	b.Helper()
	f, err := os.Open(p.logPath)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	var recs []logRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) == nil {
			recs = append(recs, logRecord{fields: rec, line: sc.Text()})
		}
	}
	if err := sc.Err(); err != nil {
		b.Fatalf("read %s: %v", p.logPath, err)
	}
	return recs
}

// checkRunning fails the benchmark if the child has exited or logged an
// error: a failed write or sync would make its figures those of a
// controller doing less than its job.
func (p *childController) checkRunning(b *testing.B) {
	b.Helper()
	select {
	case <-p.exited:
		p.fatalf(b, "the controller exited early: %v", p.waitErr)
	default:
	}
	p.checkLog(b)
}

func (p *childController) checkLog(b *testing.B) {
	b.Helper()
	for _, rec := range p.records(b) {
		if rec.fields["level"] == "ERROR" {
			p.fatalf(b, "the controller logged an error:\n%s", rec.line)
		}
	}
}

// stop sends SIGTERM, as the kubelet does, and fails the benchmark unless
// the child exits 0 with no error logged.
func (p *childController) stop(b *testing.B) {
	b.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.fatalf(b, "SIGTERM: %v", err)
	}
	select {
	case <-p.exited:
	// A hang guard: 30 s is the child's --shutdown-timeout.
	case <-time.After(time.Minute):
		_ = p.cmd.Process.Kill()
		<-p.exited
		p.fatalf(b, "the controller did not stop within a minute of SIGTERM; killed")
	}
	if p.waitErr != nil {
		p.fatalf(b, "the controller exited with %v after SIGTERM", p.waitErr)
	}
	p.checkLog(b)
}

// fatalf fails the benchmark with the tail of the child's log.
func (p *childController) fatalf(b *testing.B, format string, args ...any) {
	b.Helper()
	b.Fatalf("%s\n--- last lines of the controller's log (%s) ---\n%s", fmt.Sprintf(format, args...), p.logPath, p.tail(40))
}

// tail is the last n lines of the child's log, each cut to 1,000 bytes.
func (p *childController) tail(n int) string {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(unreadable: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	lines = lines[max(0, len(lines)-n):]
	for i, l := range lines {
		if len(l) > 1000 {
			lines[i] = l[:1000] + "…"
		}
	}
	return strings.Join(lines, "\n")
}

// procMemory is a process's memory from /proc/<pid>/status, in bytes.
type procMemory struct {
	// rss is the resident set (VmRSS), hwm its high-water mark (VmHWM),
	// rssFile the resident pages mapped from files (RssFile).
	rss, hwm, rssFile int64
}

func readProcMemory(pid int) (procMemory, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return procMemory{}, fmt.Errorf("read process status: %w", err)
	}
	var m procMemory
	fields := map[string]*int64{"VmRSS": &m.rss, "VmHWM": &m.hwm, "RssFile": &m.rssFile}
	for line := range strings.SplitSeq(string(data), "\n") {
		name, value, _ := strings.Cut(line, ":")
		field := fields[name]
		if field == nil {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(value), "kB")), 10, 64)
		if err != nil {
			return procMemory{}, fmt.Errorf("process status %s %q: %w", name, value, err)
		}
		*field = kb << 10
		delete(fields, name)
	}
	if len(fields) > 0 {
		return procMemory{}, fmt.Errorf("process status of %d lacks %d of VmRSS, VmHWM and RssFile", pid, len(fields))
	}
	return m, nil
}

// rssSamples is the highest VmRSS sampled since markSteady.
type rssSamples struct {
	steady atomic.Bool
	peak   atomic.Int64
}

// sampleRSS samples pid's VmRSS every 50 ms until ctx ends.
func sampleRSS(ctx context.Context, pid int) *rssSamples {
	s := &rssSamples{}
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			if m, err := readProcMemory(pid); err == nil && s.steady.Load() && m.rss > s.peak.Load() {
				s.peak.Store(m.rss)
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *rssSamples) markSteady()       { s.steady.Store(true) }
func (s *rssSamples) steadyPeak() int64 { return s.peak.Load() }

// childMetrics are the figures read from the child's /metrics.
type childMetrics struct {
	// cycles completed and their total duration.
	cycles       uint64
	cycleSeconds float64
	// statusWrites are successful PATCH requests to the API server.
	statusWrites float64
	heapInuse    float64
	// memory is go_memory_classes_*_bytes by class.
	memory map[string]float64
}

// goMemoryClasses are the Go runtime's /memory/classes (runtime/metrics),
// which add up to go_memory_classes_total_bytes.
var goMemoryClasses = []string{
	"heap_objects", "heap_unused", "heap_free", "heap_released", "heap_stacks", "os_stacks",
	"metadata_mcache_inuse", "metadata_mcache_free", "metadata_mspan_inuse", "metadata_mspan_free", "metadata_other",
	"profiling_buckets", "other", "total",
}

// scrapeChild reads the child's whole /metrics, gzipped, as Prometheus
// scrapes it: the per-policy series are what a scrape costs the child.
func scrapeChild(ctx context.Context, addr string) (childMetrics, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return childMetrics{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return childMetrics{}, fmt.Errorf("scrape %s: %w", addr, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return childMetrics{}, fmt.Errorf("scrape %s: HTTP %d", addr, resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return childMetrics{}, fmt.Errorf("parse the metrics of %s: %w", addr, err)
	}
	m := childMetrics{memory: map[string]float64{}}
	if f := families["trimtab_scaler_cycle_duration_seconds"]; f != nil && len(f.GetMetric()) == 1 {
		h := f.GetMetric()[0].GetHistogram()
		m.cycles, m.cycleSeconds = h.GetSampleCount(), h.GetSampleSum()
	}
	if f := families["rest_client_requests_total"]; f != nil {
		for _, s := range f.GetMetric() {
			if label(s, "method") == "PATCH" && strings.HasPrefix(label(s, "code"), "2") {
				m.statusWrites += s.GetCounter().GetValue()
			}
		}
	}
	if f := families["go_memstats_heap_inuse_bytes"]; f != nil && len(f.GetMetric()) == 1 {
		m.heapInuse = f.GetMetric()[0].GetGauge().GetValue()
	}
	for _, c := range goMemoryClasses {
		if f := families["go_memory_classes_"+c+"_bytes"]; f != nil && len(f.GetMetric()) == 1 {
			m.memory[c] = f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return m, nil
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// memoryClasses formats the Go runtime's memory classes in MiB.
func (m childMetrics) memoryClasses() string {
	parts := make([]string, 0, len(goMemoryClasses))
	for _, c := range goMemoryClasses {
		if v, ok := m.memory[c]; ok {
			parts = append(parts, fmt.Sprintf("%s %.1f", c, v/(1<<20)))
		}
	}
	return strings.Join(parts, ", ")
}
