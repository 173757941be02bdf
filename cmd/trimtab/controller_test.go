package main

import (
	"bytes"
	"encoding/json"
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
