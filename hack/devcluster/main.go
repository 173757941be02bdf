// Command devcluster runs a command (the trimtab controller, for `make run`)
// against a cluster: the one in $KUBECONFIG when set, otherwise a local
// kube-apiserver + etcd from the test environment's cache, with trimtab's
// CRDs installed and a kubeconfig written for kubectl. Ctrl-C stops both.
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/trimtab/trimtab/internal/testenv"
)

// devNamespace holds the controller's leader Lease in the local cluster.
const devNamespace = "trimtab-system"

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "devcluster: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		return fmt.Errorf("usage: devcluster [--] COMMAND [ARGS...]")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if kc := os.Getenv("KUBECONFIG"); kc != "" {
		fmt.Fprintf(os.Stderr, "devcluster: using the cluster in KUBECONFIG=%s\n", kc)
		return runChild(ctx, args, os.Environ())
	}

	fmt.Fprintln(os.Stderr, "devcluster: KUBECONFIG is not set; starting a local kube-apiserver and etcd...")
	env, err := testenv.New()
	if err != nil {
		return err
	}
	defer func() {
		fmt.Fprintln(os.Stderr, "devcluster: stopping the local control plane")
		_ = env.Stop()
	}()
	kubeconfig, err := env.Kubeconfig()
	if err != nil {
		return err
	}
	dir := filepath.Join(filepath.Dir(testenv.AssetsDir()), "dev")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	path := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(path, kubeconfig, 0o600); err != nil {
		return err
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: devNamespace}}
	if err := env.Client.Create(ctx, ns); err != nil {
		return fmt.Errorf("create namespace %s: %w", devNamespace, err)
	}
	fmt.Fprintf(os.Stderr, "devcluster: control plane at %s with trimtab's CRDs installed\n", env.Config.Host)
	kubectl := "kubectl"
	if _, err := os.Stat(filepath.Join(testenv.AssetsDir(), "kubectl")); err == nil {
		kubectl = filepath.Join(testenv.AssetsDir(), "kubectl")
	}
	fmt.Fprintf(os.Stderr, "devcluster: in another shell: export KUBECONFIG=%s; %s get rel,sp -A\n", path, kubectl)
	childEnv := append(os.Environ(), "KUBECONFIG="+path, "POD_NAMESPACE="+devNamespace)
	return runChild(ctx, args, childEnv)
}

// runChild runs the command until it exits or ctx is cancelled, passing the
// interrupt on so the child shuts down gracefully.
func runChild(ctx context.Context, args, env []string) error {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", args[0], err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		_ = cmd.Process.Signal(syscall.SIGTERM)
		err := <-done
		if exit, ok := err.(*exec.ExitError); ok && exit.ExitCode() <= 0 {
			return nil
		}
		return err
	}
}
