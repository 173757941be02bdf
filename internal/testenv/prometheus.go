package testenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Prometheus is a real Prometheus server scraping static targets every
// second, with its data in a temporary directory.
type Prometheus struct {
	// URL is the server's base URL (http://127.0.0.1:PORT).
	URL string

	cmd    *exec.Cmd
	exited chan error
	dir    string
	auth   *url.Userinfo // basic authentication the server requires, if any
}

// PrometheusBinary is $TRIMTAB_PROMETHEUS, else prometheus on PATH
// (Debian's package: `apt-get install -y --no-install-recommends prometheus`).
func PrometheusBinary() (string, error) {
	if p := os.Getenv("TRIMTAB_PROMETHEUS"); p != "" {
		return p, nil
	}
	p, err := exec.LookPath("prometheus")
	if err != nil {
		return "", errors.New("prometheus is not installed: run `apt-get install -y --no-install-recommends prometheus` or set TRIMTAB_PROMETHEUS")
	}
	return p, nil
}

// NewPrometheus starts Prometheus scraping the given host:port targets
// (each with its /metrics) every second and waits until it is ready. The
// first scrape lands ~5-6 s later; use WaitUp. Call Stop when done.
func NewPrometheus(targets ...string) (*Prometheus, error) {
	return newPrometheus(nil, nil, targets)
}

// NewPrometheusWithHistory starts Prometheus like NewPrometheus after
// backfilling its storage with the samples of an OpenMetrics text (with
// timestamps, ending in "# EOF"), as if it had scraped them: promtool tsdb
// create-blocks-from openmetrics, Prometheus's own backfill.
func NewPrometheusWithHistory(openMetrics []byte, targets ...string) (*Prometheus, error) {
	return newPrometheus(openMetrics, nil, targets)
}

func newPrometheus(history []byte, auth *url.Userinfo, targets []string) (*Prometheus, error) {
	bin, err := PrometheusBinary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "trimtab-prometheus-")
	if err != nil {
		return nil, err
	}
	if history != nil {
		if err := backfill(dir, history); err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
	}
	quoted := make([]string, len(targets))
	for i, t := range targets {
		quoted[i] = strconv.Quote(t)
	}
	cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n- job_name: app\n  static_configs:\n  - targets: [%s]\n", strings.Join(quoted, ", "))
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	args := []string{"--config.file=" + filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.enable-lifecycle", "--log.level=warn"}
	if auth != nil {
		password, _ := auth.Password()
		hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
		if err != nil {
			return nil, err
		}
		web := fmt.Sprintf("basic_auth_users:\n  %s: %s\n", strconv.Quote(auth.Username()), strconv.Quote(string(hash)))
		if err := os.WriteFile(filepath.Join(dir, "web.yml"), []byte(web), 0o600); err != nil {
			return nil, err
		}
		args = append(args, "--web.config.file="+filepath.Join(dir, "web.yml"))
	}
	var lastErr error
	for range 3 { // a free port can be taken between probe and bind
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		p := &Prometheus{URL: "http://127.0.0.1:" + strconv.Itoa(port), dir: dir, auth: auth}
		p.cmd = exec.Command(bin, append(args, "--web.listen-address=127.0.0.1:"+strconv.Itoa(port))...)
		log, err := os.Create(filepath.Join(dir, "prometheus.log"))
		if err != nil {
			return nil, err
		}
		p.cmd.Stdout, p.cmd.Stderr = log, log
		if err := p.cmd.Start(); err != nil {
			return nil, fmt.Errorf("start %s: %w", bin, err)
		}
		p.exited = make(chan error, 1)
		go func() { p.exited <- p.cmd.Wait() }()
		if lastErr = waitHTTP(p.URL+"/-/ready", 30*time.Second, p.exited, p.authorize); lastErr == nil {
			return p, nil
		}
		stopProcess(p.cmd, p.exited)
		out, _ := os.ReadFile(filepath.Join(dir, "prometheus.log"))
		lastErr = fmt.Errorf("prometheus did not become ready: %w; log:\n%s", lastErr, out)
	}
	_ = os.RemoveAll(dir)
	return nil, lastErr
}

// backfill writes the OpenMetrics history into dir/data as TSDB blocks.
func backfill(dir string, openMetrics []byte) error {
	promtool, err := exec.LookPath("promtool")
	if p := os.Getenv("TRIMTAB_PROMTOOL"); p != "" {
		promtool, err = p, nil
	}
	if err != nil {
		return errors.New("promtool is not installed: it comes with `apt-get install -y --no-install-recommends prometheus`, or set TRIMTAB_PROMTOOL")
	}
	in := filepath.Join(dir, "history.om")
	if err := os.WriteFile(in, openMetrics, 0o600); err != nil {
		return err
	}
	out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", in, filepath.Join(dir, "data")).CombinedOutput()
	if err != nil {
		return fmt.Errorf("promtool backfill: %w: %s", err, out)
	}
	return nil
}

// StartPrometheusWithHistory starts a backfilled Prometheus for one test
// and stops it at cleanup.
func StartPrometheusWithHistory(t testing.TB, openMetrics []byte, targets ...string) *Prometheus {
	t.Helper()
	p, err := NewPrometheusWithHistory(openMetrics, targets...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop() })
	return p
}

// StartPrometheusWithBasicAuth starts Prometheus for one test behind HTTP
// basic authentication (its --web.config.file): a request without the user
// and password gets 401, as from a Prometheus behind an authenticating proxy.
func StartPrometheusWithBasicAuth(t testing.TB, user, password string, targets ...string) *Prometheus {
	t.Helper()
	p, err := newPrometheus(nil, url.UserPassword(user, password), targets)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop() })
	return p
}

// authorize adds the credentials the server requires, if any.
func (p *Prometheus) authorize(req *http.Request) {
	if p.auth != nil {
		password, _ := p.auth.Password()
		req.SetBasicAuth(p.auth.Username(), password)
	}
}

// StartPrometheus starts Prometheus for one test and stops it at cleanup.
func StartPrometheus(t testing.TB, targets ...string) *Prometheus {
	t.Helper()
	return StartPrometheusWithHistory(t, nil, targets...)
}

// WaitUp polls until n targets report up == 1, for at most timeout.
func (p *Prometheus) WaitUp(ctx context.Context, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		got, err := p.upCount(ctx)
		if err == nil && got >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d targets up after %v (last error: %v)", got, n, timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (p *Prometheus) upCount(ctx context.Context) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/api/v1/query?query="+url.QueryEscape("count(up == 1)"), nil)
	if err != nil {
		return 0, err
	}
	p.authorize(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	var body struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, err
	}
	if len(body.Data.Result) == 0 {
		return 0, nil
	}
	s, _ := body.Data.Result[0].Value[1].(string)
	return strconv.Atoi(s)
}

// Stop stops Prometheus (SIGINT, then kill) and removes its data.
func (p *Prometheus) Stop() {
	stopProcess(p.cmd, p.exited)
	_ = os.RemoveAll(p.dir)
}

// stopProcess interrupts a process started by this package, kills it after
// 5 s, and waits for it; exited receives cmd.Wait's result.
func stopProcess(cmd *exec.Cmd, exited chan error) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-exited:
		exited <- err
		return
	case <-time.After(5 * time.Second):
	}
	_ = cmd.Process.Kill()
	exited <- <-exited
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitHTTP polls url until it answers 200, the process exits or timeout;
// authorize, if not nil, prepares each request.
func waitHTTP(u string, timeout time.Duration, exited <-chan error, authorize func(*http.Request)) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("process exited: %v", err)
		default:
		}
		req, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		if authorize != nil {
			authorize(req)
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after %v", u, timeout)
}
