// Package testenv starts a real kube-apiserver and etcd (through
// controller-runtime's envtest) with trimtab's CRDs installed, for
// integration tests and for `make run` when no cluster is configured.
//
// The binaries are built from the Go module proxy by `make testenv` into a
// cache shared by every clone (see AssetsDir). When they are missing, Start
// fails with instructions rather than skipping: a skipped integration test
// hides exactly what CI exists to catch.
package testenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/trimtab/trimtab/internal/kube"
)

// KubernetesVersion is the control plane version `make testenv` builds.
const KubernetesVersion = "v1.37.2"

// AssetsDir is where kube-apiserver and etcd are looked up: $TRIMTAB_TESTENV_ASSETS,
// else $KUBEBUILDER_ASSETS, else ${XDG_CACHE_HOME:-$HOME/.cache}/trimtab/<version>/bin.
func AssetsDir() string {
	if d := os.Getenv("TRIMTAB_TESTENV_ASSETS"); d != "" {
		return d
	}
	if d := os.Getenv("KUBEBUILDER_ASSETS"); d != "" {
		return d
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = os.TempDir()
		}
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "trimtab", KubernetesVersion, "bin")
}

// RepoRoot is the root of the trimtab source tree, found from this file's
// location so tests work from any package directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// CRDDirs are the CRD manifests installed into every test API server:
// trimtab's own, and third-party ones the routers need.
func CRDDirs() []string {
	return []string{trimtabCRDDir(), GatewayAPICRDDir()}
}

func trimtabCRDDir() string { return filepath.Join(RepoRoot(), "deploy", "crds") }

// GatewayAPICRDDir holds the Gateway API's standard channel, for the
// gatewayAPI router.
func GatewayAPICRDDir() string {
	return filepath.Join(RepoRoot(), "internal", "testenv", "crds", "gateway-api")
}

// Env is a running control plane.
type Env struct {
	// Config reaches the API server as cluster-admin.
	Config *rest.Config
	// Client is a controller-runtime client without a cache, so tests read
	// what the API server has, not what an informer saw.
	Client client.Client
	// Clientset is client-go's typed client, for subresources such as scale.
	Clientset kubernetes.Interface

	env *envtest.Environment
}

// New starts a control plane; call Stop when done.
func New() (*Env, error) { return start(CRDDirs()) }

// start starts a control plane with the CRDs of crdDirs installed.
func start(crdDirs []string) (*Env, error) {
	dir := AssetsDir()
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(dir, bin)); err != nil {
			return nil, fmt.Errorf("kube-apiserver and etcd are not built: %s is missing; run `make testenv` (it builds them from the Go module proxy into %s, ~6 min the first time) or set TRIMTAB_TESTENV_ASSETS", filepath.Join(dir, bin), dir)
		}
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: dir,
		CRDDirectoryPaths:     crdDirs,
		ErrorIfCRDPathMissing: true,
		Scheme:                kube.NewScheme(),
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("start control plane from %s: %w", dir, err)
	}
	e := &Env{Config: cfg, env: env}
	if e.Client, err = client.New(cfg, client.Options{Scheme: env.Scheme}); err != nil {
		_ = env.Stop()
		return nil, fmt.Errorf("client: %w", err)
	}
	if e.Clientset, err = kubernetes.NewForConfig(cfg); err != nil {
		_ = env.Stop()
		return nil, fmt.Errorf("clientset: %w", err)
	}
	return e, nil
}

// Start starts a control plane for one test and stops it at cleanup.
func Start(t testing.TB) *Env {
	t.Helper()
	return startFor(t, CRDDirs())
}

// StartWithoutGatewayAPI is Start on a cluster without the Gateway API's
// CRDs: it does not serve HTTPRoutes.
func StartWithoutGatewayAPI(t testing.TB) *Env {
	t.Helper()
	return startFor(t, []string{trimtabCRDDir()})
}

func startFor(t testing.TB, crdDirs []string) *Env {
	t.Helper()
	e, err := start(crdDirs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Stop(); err != nil {
			t.Logf("stop control plane: %v", err)
		}
	})
	return e
}

// Stop stops the API server and etcd and removes their data.
func (e *Env) Stop() error { return e.env.Stop() }

// Kubeconfig returns a kubeconfig file's contents for a cluster-admin user,
// for kubectl or a controller started in another process.
func (e *Env) Kubeconfig() ([]byte, error) {
	user, err := e.env.AddUser(envtest.User{Name: "trimtab-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return nil, fmt.Errorf("add admin user: %w", err)
	}
	return user.KubeConfig()
}

// ClientAs returns a client of a user without any role: RBAC refuses it
// everything a test does not grant, as in a cluster.
func (e *Env) ClientAs(name string) (client.Client, error) {
	user, err := e.env.AddUser(envtest.User{Name: name}, nil)
	if err != nil {
		return nil, fmt.Errorf("add user %s: %w", name, err)
	}
	return client.New(user.Config(), client.Options{Scheme: e.Client.Scheme()})
}

// RunMain is a package's TestMain: it starts one control plane that the
// package's tests share (a start costs seconds), runs them, and stops it.
func RunMain(m *testing.M, env **Env) {
	e, err := New()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*env = e
	code := m.Run()
	_ = e.Stop()
	os.Exit(code)
}

// ServeHTTPRoutesOnlyInV1beta1 installs, on a cluster without the Gateway
// API (StartWithoutGatewayAPI), an HTTPRoute CRD whose v1 is its storage
// version but not served and whose v1beta1 is served: the group
// gateway.networking.k8s.io is in discovery, v1 HTTPRoutes are not, as
// when a cluster turns off an installed CRD's version. It returns once
// discovery lists the group.
func ServeHTTPRoutesOnlyInV1beta1(t testing.TB, e *Env) {
	t.Helper()
	const group = "gateway.networking.k8s.io"
	schema := &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
		Type: "object", XPreserveUnknownFields: ptr.To(true),
	}}
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{
			Name: "httproutes." + group,
			// A *.k8s.io group needs it, as the Gateway API's own CRDs have.
			Annotations: map[string]string{"api-approved.kubernetes.io": "https://github.com/kubernetes-sigs/gateway-api/pull/4530"},
		},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: group,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "httproutes", Singular: "httproute", Kind: "HTTPRoute", ListKind: "HTTPRouteList"},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{
				{Name: "v1", Served: false, Storage: true, Schema: schema},
				{Name: "v1beta1", Served: true, Storage: false, Schema: schema},
			},
		},
	}
	c, err := apiextensionsclient.NewForConfig(e.Config)
	if err != nil {
		t.Fatalf("apiextensions client: %v", err)
	}
	if _, err := c.ApiextensionsV1().CustomResourceDefinitions().Create(t.Context(), crd, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create CRD %s: %v", crd.Name, err)
	}
	err = wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		groups, err := e.Clientset.Discovery().ServerGroups()
		if err != nil {
			return false, nil // discovery may fail while the CRD is set up: poll on
		}
		return slices.ContainsFunc(groups.Groups, func(g metav1.APIGroup) bool { return g.Name == group }), nil
	})
	if err != nil {
		t.Fatalf("discovery does not list %s after installing CRD %s: %v", group, crd.Name, err)
	}
}

// ApplyHTTPRouteAsKubectl server-side applies, as `kubectl apply
// --server-side` does (field manager "kubectl"), an HTTPRoute namespace/name
// with parent "public" and one rule to backend:port: a user's own apply of
// the route trimtab changed during a release.
func ApplyHTTPRouteAsKubectl(ctx context.Context, c client.Client, namespace, name, backend string, port int) error {
	u := unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
		"metadata": map[string]any{"namespace": namespace, "name": name},
		"spec": map[string]any{
			"parentRefs": []any{map[string]any{"name": "public"}},
			"rules":      []any{map[string]any{"backendRefs": []any{map[string]any{"name": backend, "port": int64(port)}}}},
		},
	}}
	return c.Apply(ctx, client.ApplyConfigurationFromUnstructured(&u), client.FieldOwner("kubectl"))
}
