package kube

import (
	"reflect"
	"strings"
	"sync"
)

// Interner hands out one shared copy of equal strings. Objects arrive in
// the caches one by one, each decoded into strings of its own, while most
// of a fleet's strings are equal: at 10,000 ScalingPolicies the same query
// templates, metric names, condition types, reasons and messages (about
// 1 KB a policy); at 20,000 pods the same namespaces, container names,
// phases and label keys. A cache transform that interns them keeps one
// copy each.
//
// It remembers at most about twice its size of distinct strings in two
// generations: when the current one is full it becomes the previous one,
// and strings no cached object has been decoded with since are forgotten.
// A string seen in every generation (a template the fleet shares) stays
// shared; one unique to an object (its name, a message naming it) costs a
// map entry until it ages out.
type Interner struct {
	mu        sync.Mutex
	size      int
	cur, prev map[string]string
}

// CacheStrings is the Interner of the caches' transforms, one for all:
// the same namespaces and labels recur in pods, Deployments and
// ScalingPolicies.
var CacheStrings = NewInterner(1 << 12)

// NewInterner returns an Interner of generations of size strings.
func NewInterner(size int) *Interner {
	return &Interner{size: size, cur: make(map[string]string, size)}
}

// String returns the shared copy of s.
func (in *Interner) String(s string) string {
	if s == "" {
		return s
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if v, ok := in.cur[s]; ok {
		return v
	}
	v, ok := in.prev[s]
	if !ok {
		// A copy: s may be a slice of a larger buffer the decoder let go.
		v = strings.Clone(s)
	}
	if len(in.cur) >= in.size {
		in.prev, in.cur = in.cur, make(map[string]string, in.size)
	}
	in.cur[v] = v
	return v
}

// Map returns m with its keys and values interned (a new map; nil stays
// nil).
func (in *Interner) Map(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[in.String(k)] = in.String(v)
	}
	return out
}

// Strings interns every string ptr points to through exported fields,
// pointers, slices and arrays: the string fields (of any string type) of
// a decoded spec or status, and the keys and values of its maps of strings.
// Unexported fields are left as they are (a resource.Quantity's cache, a
// time's location).
func (in *Interner) Strings(ptr any) {
	in.walk(reflect.ValueOf(ptr))
}

func (in *Interner) walk(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			in.walk(v.Elem())
		}
	case reflect.String:
		if v.CanSet() {
			v.SetString(in.String(v.String()))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				in.walk(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			in.walk(v.Index(i))
		}
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String || v.Type().Elem().Kind() != reflect.String || v.IsNil() || !v.CanSet() {
			return
		}
		out := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			k.SetString(in.String(it.Key().String()))
			e.SetString(in.String(it.Value().String()))
			out.SetMapIndex(k, e)
		}
		v.Set(out)
	}
}
