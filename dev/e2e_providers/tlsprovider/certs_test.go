package tlsprovider

import (
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"openalgo.invalid/e2e-providers/standin"
)

func list(values ...string) resource.PropertyValue {
	items := make([]resource.PropertyValue, 0, len(values))
	for _, value := range values {
		items = append(items, resource.NewStringProperty(value))
	}
	return resource.NewArrayProperty(items)
}

func newKey(t *testing.T) string {
	t.Helper()
	result, err := createKey(standin.Props{
		"algorithm": resource.NewStringProperty("ECDSA"), "ecdsaCurve": resource.NewStringProperty("P256"),
	})
	if err != nil {
		t.Fatal(err)
	}
	return result.Outputs["privateKeyPem"].StringValue()
}

func parse(t *testing.T, text string) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode([]byte(text))
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestLocallySignedCertificateChainsToTheCaForItsNamesAndUses(t *testing.T) {
	caKey := newKey(t)
	ca, err := createSelfSigned(standin.Props{
		"privateKeyPem":       resource.NewStringProperty(caKey),
		"isCaCertificate":     resource.NewBoolProperty(true),
		"subject":             resource.NewObjectProperty(resource.PropertyMap{"commonName": resource.NewStringProperty("CA")}),
		"allowedUses":         list("cert_signing", "crl_signing"),
		"validityPeriodHours": resource.NewNumberProperty(48),
	})
	if err != nil {
		t.Fatal(err)
	}
	request, err := createRequest(standin.Props{
		"privateKeyPem": resource.NewStringProperty(newKey(t)),
		"subject":       resource.NewObjectProperty(resource.PropertyMap{"commonName": resource.NewStringProperty("node")}),
		"dnsNames":      list("db.example.internal"),
		"ipAddresses":   list("127.0.0.1"),
	})
	if err != nil {
		t.Fatal(err)
	}
	signed, err := createLocallySigned(standin.Props{
		"certRequestPem":      request.Outputs["certRequestPem"],
		"caCertPem":           ca.Outputs["certPem"],
		"caPrivateKeyPem":     resource.NewStringProperty(caKey),
		"allowedUses":         list("digital_signature", "server_auth", "client_auth"),
		"validityPeriodHours": resource.NewNumberProperty(24),
	})
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(parse(t, ca.Outputs["certPem"].StringValue()))
	leaf := parse(t, signed.Outputs["certPem"].StringValue())
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		_, err := leaf.Verify(x509.VerifyOptions{
			Roots: roots, DNSName: "db.example.internal", KeyUsages: []x509.ExtKeyUsage{usage},
		})
		if err != nil {
			t.Fatalf("usage %v: %v", usage, err)
		}
	}
	if leaf.Subject.CommonName != "node" || leaf.IPAddresses[0].String() != "127.0.0.1" {
		t.Fatalf("subject or IP not carried over from the request: %v %v", leaf.Subject, leaf.IPAddresses)
	}
	if leaf.NotAfter.Sub(leaf.NotBefore) != 24*time.Hour {
		t.Fatalf("validity %v, want 24h", leaf.NotAfter.Sub(leaf.NotBefore))
	}
}

func TestUnknownAllowedUseIsRefusedNamingIt(t *testing.T) {
	failures := validateCertificate(standin.Props{"allowedUses": list("server_auth", "serverAuth")})
	if len(failures) != 1 || failures[0].Property != "allowedUses" {
		t.Fatalf("want one failure on allowedUses, got %v", failures)
	}
}

func TestReadyForRenewalInsideTheEarlyRenewalWindowOnly(t *testing.T) {
	end := time.Now().Add(10 * time.Hour).UTC().Format(time.RFC3339)
	state := func(hours float64) standin.Props {
		return standin.Props{
			"validityEndTime":   resource.NewStringProperty(end),
			"earlyRenewalHours": resource.NewNumberProperty(hours),
		}
	}
	if readyForRenewal(state(5)) || !readyForRenewal(state(11)) {
		t.Fatal("want not ready 5h before a 10h-away end, ready with an 11h window")
	}
}
