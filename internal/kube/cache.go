package kube

import (
	"sigs.k8s.io/controller-runtime/pkg/cache"
)

// CacheOptions is the informer cache of the controller process: every
// object without managedFields (often a third of an object, and nothing
// here reads them), and only the given namespaces when any are given. Pods
// are not in it: they have their own cache of LeanPods (NewLeanPodCache).
func CacheOptions(namespaces []string) cache.Options {
	opts := cache.Options{DefaultTransform: cache.TransformStripManagedFields()}
	if len(namespaces) > 0 {
		opts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range namespaces {
			opts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	return opts
}
