//go:build tools

// Package tools pins kwok (simulated nodes and pods) in a module of its own: it needs newer
// k8s.io modules than the control plane in tools/control-plane.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
