package kube_test

import (
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/trimtab/trimtab/internal/kube"
)

// fresh returns s in memory of its own, as a decoder would hand it out.
func fresh(s string) string { return strings.Clone(s) }

func sameMemory(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }

func TestInternerString(t *testing.T) {
	for _, tc := range []struct {
		name string
		// seen are interned in order before the checked pair.
		seen       []string
		size       int
		wantShared bool
	}{
		{name: "equal strings share one copy", size: 4, wantShared: true},
		{name: "a string of the previous generation is still shared", size: 2, seen: []string{"a", "b"}, wantShared: true},
		{name: "a string two generations old is forgotten", size: 2, seen: []string{"a", "b", "c", "d"}, wantShared: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := kube.NewInterner(tc.size)
			first := in.String(fresh("template"))
			for _, s := range tc.seen {
				in.String(fresh(s))
			}
			second := in.String(fresh("template"))
			require.Equal(t, "template", second)
			require.Equal(t, tc.wantShared, sameMemory(first, second))
		})
	}
	t.Run("a string seen in every generation stays shared", func(t *testing.T) {
		in := kube.NewInterner(2)
		first := in.String(fresh("template"))
		for i := range 20 {
			in.String(fresh(strings.Repeat("x", i+1)))
			require.True(t, sameMemory(first, in.String(fresh("template"))), "after %d other strings", i+1)
		}
	})
	t.Run("the empty string is no entry", func(t *testing.T) {
		in := kube.NewInterner(1)
		first := in.String(fresh("template"))
		require.Empty(t, in.String(""))
		require.True(t, sameMemory(first, in.String(fresh("template"))))
	})
}

type (
	kind string
	tree struct {
		Name     string
		Kind     kind
		Ptr      *string
		Nil      *string
		List     []string
		Nested   []leaf
		Labels   map[string]string
		Counts   map[string]int
		unshared string
	}
	leaf struct{ Reason string }
)

func TestInternerStrings(t *testing.T) {
	build := func() *tree {
		p := fresh("pointed")
		return &tree{
			Name: fresh("web"), Kind: kind(fresh("Deployment")), Ptr: &p,
			List: []string{fresh("a"), fresh("b")}, Nested: []leaf{{Reason: fresh("Found")}},
			Labels: map[string]string{fresh("app"): fresh("web")}, Counts: map[string]int{fresh("n"): 1},
			unshared: fresh("private"),
		}
	}
	in := kube.NewInterner(64)
	a, b := build(), build()
	in.Strings(a)
	in.Strings(b)
	require.Equal(t, build(), a, "interning changes no value")
	for _, tc := range []struct {
		name       string
		x, y       string
		wantShared bool
	}{
		{name: "string field", x: a.Name, y: b.Name, wantShared: true},
		{name: "field of a named string type", x: string(a.Kind), y: string(b.Kind), wantShared: true},
		{name: "through a pointer", x: *a.Ptr, y: *b.Ptr, wantShared: true},
		{name: "slice element", x: a.List[1], y: b.List[1], wantShared: true},
		{name: "field of a slice's struct", x: a.Nested[0].Reason, y: b.Nested[0].Reason, wantShared: true},
		{name: "map value", x: a.Labels["app"], y: b.Labels["app"], wantShared: true},
		{name: "unexported field left alone", x: a.unshared, y: b.unshared, wantShared: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.x, tc.y)
			require.Equal(t, tc.wantShared, sameMemory(tc.x, tc.y))
		})
	}
	t.Run("map key", func(t *testing.T) {
		var ka, kb string
		for k := range a.Labels {
			ka = k
		}
		for k := range b.Labels {
			kb = k
		}
		require.True(t, sameMemory(ka, kb))
	})
	t.Run("nil pointers and maps of other values pass", func(t *testing.T) {
		require.Nil(t, a.Nil)
		require.Equal(t, map[string]int{"n": 1}, a.Counts)
	})
}
