// Package tlsprovider stands in for pulumi-tls's keys, certificate requests and certificates in
// the e2e tests, producing real keys and X.509 certificates with crypto/x509.
package tlsprovider

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // the real provider's ids are SHA-1 hex digests
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"golang.org/x/crypto/ssh"

	"openalgo.invalid/e2e-providers/standin"
)

var curves = map[string]elliptic.Curve{
	"P224": elliptic.P224(), "P256": elliptic.P256(), "P384": elliptic.P384(), "P521": elliptic.P521(),
}

// PrivateKey is tls:index/privateKey:PrivateKey.
var PrivateKey = standin.Type{
	Token:    "tls:index/privateKey:PrivateKey",
	Inputs:   []string{"algorithm", "ecdsaCurve", "rsaBits"},
	Required: []string{"algorithm"},
	Defaults: resource.PropertyMap{
		"ecdsaCurve": resource.NewStringProperty("P224"),
		"rsaBits":    resource.NewNumberProperty(2048),
	},
	Computed: []string{
		"privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh", "publicKeyPem",
		"publicKeyOpenssh", "publicKeyFingerprintMd5", "publicKeyFingerprintSha256",
	},
	Secret:   []string{"privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh"},
	Validate: validateKey,
	Create:   createKey,
}

func validateKey(p standin.Props) []standin.Failure {
	var failures []standin.Failure
	failures = append(failures, p.CheckOneOf("algorithm", "RSA", "ECDSA", "ED25519")...)
	failures = append(failures, p.CheckOneOf("ecdsaCurve", "P224", "P256", "P384", "P521")...)
	failures = append(failures, p.CheckType("rsaBits", "integer")...)
	return append(failures, p.CheckAtLeast("rsaBits", 1024)...)
}

func generateKey(p standin.Props) (crypto.Signer, error) {
	switch p.String("algorithm") {
	case "RSA":
		return rsa.GenerateKey(rand.Reader, p.Int("rsaBits"))
	case "ECDSA":
		return ecdsa.GenerateKey(curves[p.String("ecdsaCurve")], rand.Reader)
	case "ED25519":
		_, key, err := ed25519.GenerateKey(rand.Reader)
		return key, err
	}
	return nil, fmt.Errorf("algorithm %q is not allowed: use RSA, ECDSA or ED25519", p.String("algorithm"))
}

func pemText(blockType string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der}))
}

// traditionalPem is the key in the format the real provider's privateKeyPem uses: PKCS#1 for RSA,
// SEC 1 for ECDSA, PKCS#8 for ED25519.
func traditionalPem(key crypto.Signer) (string, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return pemText("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k)), nil
	case *ecdsa.PrivateKey:
		der, err := x509.MarshalECPrivateKey(k)
		return pemText("EC PRIVATE KEY", der), err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	return pemText("PRIVATE KEY", der), err
}

func createKey(p standin.Props) (standin.Result, error) {
	key, err := generateKey(p)
	if err != nil {
		return standin.Result{}, err
	}
	keyPem, err := traditionalPem(key)
	if err != nil {
		return standin.Result{}, err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return standin.Result{}, err
	}
	publicDer, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return standin.Result{}, err
	}
	publicPem := pemText("PUBLIC KEY", publicDer)
	// SSH has no P-224 keys: the real provider leaves the OpenSSH forms empty then.
	var privateOpenssh, publicOpenssh, md5, sha256 string
	if sshKey, sshErr := ssh.NewPublicKey(key.Public()); sshErr == nil {
		publicOpenssh = string(ssh.MarshalAuthorizedKey(sshKey))
		md5 = ssh.FingerprintLegacyMD5(sshKey)
		sha256 = ssh.FingerprintSHA256(sshKey)
		if block, blockErr := ssh.MarshalPrivateKey(key, ""); blockErr == nil {
			privateOpenssh = string(pem.EncodeToMemory(block))
		}
	}
	digest := sha1.Sum([]byte(publicPem)) //nolint:gosec // an id, not a security boundary
	return standin.Result{
		ID: hex.EncodeToString(digest[:]),
		Outputs: resource.PropertyMap{
			"privateKeyPem":              resource.NewStringProperty(keyPem),
			"privateKeyPemPkcs8":         resource.NewStringProperty(pemText("PRIVATE KEY", pkcs8)),
			"privateKeyOpenssh":          resource.NewStringProperty(privateOpenssh),
			"publicKeyPem":               resource.NewStringProperty(publicPem),
			"publicKeyOpenssh":           resource.NewStringProperty(publicOpenssh),
			"publicKeyFingerprintMd5":    resource.NewStringProperty(md5),
			"publicKeyFingerprintSha256": resource.NewStringProperty(sha256),
		},
	}, nil
}

// parsePrivateKey reads a PEM private key in any of the formats privateKeyPem may hold.
func parsePrivateKey(property, text string) (crypto.Signer, string, error) {
	block, _ := pem.Decode([]byte(text))
	if block == nil {
		return nil, "", fmt.Errorf("%s: not a PEM block", property)
	}
	var parsed any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		parsed, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		parsed, err = x509.ParseECPrivateKey(block.Bytes)
	case "PRIVATE KEY":
		parsed, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, "", fmt.Errorf("%s: PEM type %q is not allowed: use RSA PRIVATE KEY, "+
			"EC PRIVATE KEY or PRIVATE KEY", property, block.Type)
	}
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", property, err)
	}
	switch k := parsed.(type) {
	case *rsa.PrivateKey:
		return k, "RSA", nil
	case *ecdsa.PrivateKey:
		return k, "ECDSA", nil
	case ed25519.PrivateKey:
		return k, "ED25519", nil
	}
	return nil, "", fmt.Errorf("%s: unsupported key type %T", property, parsed)
}
