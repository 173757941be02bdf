//go:build tools

// Package tools pins kube-apiserver (and kubectl, to look at the test
// cluster) so that `go build` can produce the
// control plane used by trimtab's integration tests (see ../../Makefile, target testenv).
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
