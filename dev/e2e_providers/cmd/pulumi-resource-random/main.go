// Command pulumi-resource-random is a test stand-in for pulumi-random 4.21.4 (RandomPassword only).
package main

import (
	"openalgo.invalid/e2e-providers/randomprovider"
	"openalgo.invalid/e2e-providers/standin"
)

func main() {
	standin.Main("random", "4.21.4", randomprovider.Password)
}
