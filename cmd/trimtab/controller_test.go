package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trimtab/trimtab/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.RunMain(m, &env) }

// lockedBuffer is the controller's stderr, read while it writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestControllerStopsCleanly builds `trimtab controller` and runs it against
// the real API server until it leads, then sends SIGTERM, as the kubelet
// does: it must exit 0 and log no error. controller-runtime reports the
// Lease it releases on the way out as lost leadership, at Error; trimtab
// logs that at Info.
func TestControllerStopsCleanly(t *testing.T) {
	kubeconfig, err := env.Kubeconfig()
	require.NoError(t, err)
	dir := t.TempDir()
	path := filepath.Join(dir, "kubeconfig")
	require.NoError(t, os.WriteFile(path, kubeconfig, 0o600))
	bin := filepath.Join(dir, "trimtab")
	build := exec.Command("go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	var stderr lockedBuffer
	cmd := exec.Command(bin, "controller", "--kubeconfig="+path, "--metrics.address=127.0.0.1:0", "--api.address=127.0.0.1:0",
		"--leader-elect.namespace=default", "--leader-elect.id=trimtab-stop-test", "--log.format=json")
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	// Stopped once both controllers run: a stop while the caches still
	// sync logs the unsynced informers as errors, which they are when the
	// cause is not the stop (missing RBAC, say).
	require.Eventually(t, func() bool {
		log := stderr.String()
		return strings.Contains(log, `"msg":"Successfully acquired lease","logger":"leaderelection","lock":"default/trimtab-stop-test"`) &&
			strings.Contains(log, `"msg":"Starting workers","controller":"release"`) &&
			strings.Contains(log, `"msg":"Starting workers","controller":"scalingpolicy"`)
	}, 60*time.Second, 50*time.Millisecond, "never led:\n%s", &stderr)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-exited:
		require.NoError(t, err, "exit status; log:\n%s", &stderr)
	case <-time.After(30 * time.Second):
		t.Fatalf("did not stop within 30 s; log:\n%s", &stderr)
	}
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
		require.NotEqual(t, "ERROR", rec["level"], "logged an error: %s", line)
	}
}

// TestControllerStartupErrorsNameTheSetting: a setting that fails only once
// the controller starts (a listen address another process holds) is named
// as the user set it, the TRIMTAB_* variable or the flag, like the settings
// refused before start-up; the work failed, so the exit status is 1.
func TestControllerStartupErrorsNameTheSetting(t *testing.T) {
	kubeconfig, err := env.Kubeconfig()
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, os.WriteFile(path, kubeconfig, 0o600))
	held, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { held.Close() })
	busy := held.Addr().String()
	inUse := "listen tcp " + busy + ": bind: address already in use"

	cases := []struct {
		name   string
		args   []string
		env    map[string]string
		stderr string
		notErr string
	}{
		{name: "metrics address from the environment", env: map[string]string{"TRIMTAB_METRICS_ADDRESS": busy},
			stderr: "TRIMTAB_METRICS_ADDRESS=" + busy + " (--metrics.address): " + inUse},
		{name: "metrics address from the command line", args: []string{"--metrics.address=" + busy},
			stderr: "--metrics.address " + busy + ": " + inUse, notErr: "TRIMTAB_"},
		{name: "API address from the environment", env: map[string]string{"TRIMTAB_API_ADDRESS": busy},
			stderr: "TRIMTAB_API_ADDRESS=" + busy + " (--api.address): " + inUse},
		{name: "pprof address from the environment", env: map[string]string{"TRIMTAB_PPROF_ADDRESS": busy},
			stderr: "TRIMTAB_PPROF_ADDRESS=" + busy + " (--pprof.address): " + inUse},
		{name: "the command line wins over the environment", args: []string{"--pprof.address=" + busy}, env: map[string]string{"TRIMTAB_PPROF_ADDRESS": "127.0.0.1:0"},
			stderr: "--pprof.address " + busy + ": " + inUse, notErr: "TRIMTAB_"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// The other listeners take free ports; GOMEMLIMIT keeps the
			// controller from setting this test process's memory limit.
			t.Setenv("GOMEMLIMIT", "off")
			t.Setenv("TRIMTAB_METRICS_ADDRESS", "127.0.0.1:0")
			t.Setenv("TRIMTAB_API_ADDRESS", "127.0.0.1:0")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			args := append([]string{"controller", "--kubeconfig=" + path, "--leader-elect=false", "--log.level=error"}, tc.args...)
			var out, errb bytes.Buffer
			code := run(context.Background(), args, strings.NewReader(""), &out, &errb)
			require.Equal(t, 1, code, "stderr: %s", errb.String())
			require.Contains(t, errb.String(), "trimtab: "+tc.stderr+"\n")
			if tc.notErr != "" {
				require.NotContains(t, errb.String(), tc.notErr)
			}
		})
	}
}
