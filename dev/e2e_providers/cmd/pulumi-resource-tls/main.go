// Command pulumi-resource-tls is a test stand-in for pulumi-tls 5.6.2 (keys, certificate
// requests, self-signed and locally signed certificates).
package main

import (
	"openalgo.invalid/e2e-providers/standin"
	"openalgo.invalid/e2e-providers/tlsprovider"
)

func main() {
	standin.Main("tls", "5.6.2",
		tlsprovider.PrivateKey, tlsprovider.SelfSignedCert, tlsprovider.CertRequest,
		tlsprovider.LocallySignedCert)
}
