// Command pulumi-resource-kubernetes serves the Pulumi Kubernetes provider.
//
// The two embedded files are not part of this directory: the install script
// writes them next to a copy of it, from the schema and Terraform mapping that
// ship inside the provider module, with the schema stamped with its version.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var schema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, schema, terraformMapping)
}
