package v1alpha1_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trimtab/trimtab/internal/testenv"
)

// TestCommittedCRDsMatchTypes regenerates the CRDs from the Go types and
// fails when deploy/crds differs, so the schema the API server enforces is
// always the one the code declares. Fix with `make generate`.
func TestCommittedCRDsMatchTypes(t *testing.T) {
	root := testenv.RepoRoot()
	out := t.TempDir()
	cmd := exec.Command("go", "run", "sigs.k8s.io/controller-tools/cmd/controller-gen@v0.23.0",
		"crd:crdVersions=v1", "paths=./api/...", "output:crd:artifacts:config="+out)
	cmd.Dir = root
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "controller-gen: %s", b)

	committed, err := filepath.Glob(filepath.Join(root, "deploy", "crds", "*.yaml"))
	require.NoError(t, err)
	generated, err := filepath.Glob(filepath.Join(out, "*.yaml"))
	require.NoError(t, err)
	require.Len(t, committed, len(generated), "deploy/crds has a different set of CRDs than the types; run make generate")
	for _, g := range generated {
		want, err := os.ReadFile(g)
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join(root, "deploy", "crds", filepath.Base(g)))
		require.NoError(t, err, "missing deploy/crds/%s; run make generate", filepath.Base(g))
		require.Equal(t, string(want), string(got), "deploy/crds/%s is stale; run make generate", filepath.Base(g))
	}
}
