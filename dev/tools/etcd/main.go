// Command etcd is etcd's own entry point at the release go.mod pins. The control-plane tests
// need a release that answers watch progress requests (3.5.13 or later): kube-apiserver streams
// watch lists only then, and kwok's clients rely on it.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
