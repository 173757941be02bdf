package router

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/internal/testenv"
)

// env is one API server for the package; each test works in its own
// namespace.
var env *testenv.Env

func TestMain(m *testing.M) { testenv.RunMain(m, &env) }

// steps is the weight sequence every router is driven through: the default
// canary steps, then back to 0 as a rollback does.
var steps = []int32{10, 25, 50, 75, 0}

func newNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "router-"}}
	require.NoError(t, env.Client.Create(t.Context(), ns))
	return ns.Name
}

// newRelease creates a Release of Deployment web, so that it has the UID
// owner references need.
func newRelease(t *testing.T, ns, name string, traffic trimtabv1.Traffic) *trimtabv1.Release {
	t.Helper()
	rel := &trimtabv1.Release{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: trimtabv1.ReleaseSpec{
			TargetRef: trimtabv1.TargetRef{Name: "web"},
			Strategy:  trimtabv1.Strategy{Canary: &trimtabv1.CanaryStrategy{}},
			Traffic:   traffic,
		},
	}
	require.NoError(t, env.Client.Create(t.Context(), rel))
	return rel
}

// writes counts the writes a client sends, since the API server turns an
// update that changes nothing into a no-op that keeps the resourceVersion.
type writes struct{ n atomic.Int32 }

// client returns a client of the test API server that counts its writes.
func (w *writes) client(t *testing.T) client.Client {
	t.Helper()
	c, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Client.Scheme()})
	require.NoError(t, err)
	return interceptor.NewClient(c, interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			w.n.Add(1)
			return c.Create(ctx, obj, opts...)
		},
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			w.n.Add(1)
			return c.Update(ctx, obj, opts...)
		},
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			w.n.Add(1)
			return c.Patch(ctx, obj, patch, opts...)
		},
		Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			w.n.Add(1)
			return c.Delete(ctx, obj, opts...)
		},
	})
}

// get reads obj's namespace and name back from the API server into a new
// object.
func get[T client.Object](t *testing.T, obj T) T {
	t.Helper()
	fresh := obj.DeepCopyObject().(T)
	require.NoError(t, env.Client.Get(t.Context(), client.ObjectKeyFromObject(obj), fresh))
	return fresh
}
