package tlsprovider

import (
	"crypto"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // subject key ids and ids are SHA-1 digests, as upstream
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"openalgo.invalid/e2e-providers/standin"
)

var keyUsages = map[string]x509.KeyUsage{
	"digital_signature":  x509.KeyUsageDigitalSignature,
	"content_commitment": x509.KeyUsageContentCommitment,
	"key_encipherment":   x509.KeyUsageKeyEncipherment,
	"data_encipherment":  x509.KeyUsageDataEncipherment,
	"key_agreement":      x509.KeyUsageKeyAgreement,
	"cert_signing":       x509.KeyUsageCertSign,
	"crl_signing":        x509.KeyUsageCRLSign,
	"encipher_only":      x509.KeyUsageEncipherOnly,
	"decipher_only":      x509.KeyUsageDecipherOnly,
}

var extKeyUsages = map[string]x509.ExtKeyUsage{
	"any_extended":                      x509.ExtKeyUsageAny,
	"server_auth":                       x509.ExtKeyUsageServerAuth,
	"client_auth":                       x509.ExtKeyUsageClientAuth,
	"code_signing":                      x509.ExtKeyUsageCodeSigning,
	"email_protection":                  x509.ExtKeyUsageEmailProtection,
	"ipsec_end_system":                  x509.ExtKeyUsageIPSECEndSystem,
	"ipsec_tunnel":                      x509.ExtKeyUsageIPSECTunnel,
	"ipsec_user":                        x509.ExtKeyUsageIPSECUser,
	"timestamping":                      x509.ExtKeyUsageTimeStamping,
	"ocsp_signing":                      x509.ExtKeyUsageOCSPSigning,
	"microsoft_server_gated_crypto":     x509.ExtKeyUsageMicrosoftServerGatedCrypto,
	"netscape_server_gated_crypto":      x509.ExtKeyUsageNetscapeServerGatedCrypto,
	"microsoft_commercial_code_signing": x509.ExtKeyUsageMicrosoftCommercialCodeSigning,
	"microsoft_kernel_code_signing":     x509.ExtKeyUsageMicrosoftKernelCodeSigning,
}

var emailAddressOID = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}

var subjectKeys = []string{
	"commonName", "country", "emailAddress", "locality", "organization", "organizationalUnit",
	"postalCode", "province", "serialNumber", "streetAddresses",
}

var certificateOutputs = []string{
	"certPem", "keyAlgorithm", "validityStartTime", "validityEndTime", "readyForRenewal",
}

var certificateDefaults = resource.PropertyMap{
	"earlyRenewalHours": resource.NewNumberProperty(0),
	"isCaCertificate":   resource.NewBoolProperty(false),
	"setSubjectKeyId":   resource.NewBoolProperty(false),
	"maxPathLength":     resource.NewNumberProperty(0),
}

// SelfSignedCert is tls:index/selfSignedCert:SelfSignedCert.
var SelfSignedCert = standin.Type{
	Token: "tls:index/selfSignedCert:SelfSignedCert",
	Inputs: []string{
		"allowedUses", "dnsNames", "earlyRenewalHours", "ipAddresses", "isCaCertificate",
		"maxPathLength", "privateKeyPem", "setAuthorityKeyId", "setSubjectKeyId", "subject", "uris",
		"validityPeriodHours",
	},
	Required: []string{"allowedUses", "privateKeyPem", "validityPeriodHours"},
	Defaults: withDefaults(certificateDefaults, "setAuthorityKeyId", resource.NewBoolProperty(false)),
	Computed: certificateOutputs,
	Secret:   []string{"privateKeyPem"},
	Validate: func(p standin.Props) []standin.Failure {
		return append(validateCertificate(p), validateNames(p)...)
	},
	Create:  createSelfSigned,
	Refresh: refreshRenewal,
	Expired: readyForRenewal,
}

// CertRequest is tls:index/certRequest:CertRequest.
var CertRequest = standin.Type{
	Token:    "tls:index/certRequest:CertRequest",
	Inputs:   []string{"dnsNames", "ipAddresses", "privateKeyPem", "subject", "uris"},
	Required: []string{"privateKeyPem"},
	Computed: []string{"certRequestPem", "keyAlgorithm"},
	Secret:   []string{"privateKeyPem"},
	Validate: validateNames,
	Create:   createRequest,
}

// LocallySignedCert is tls:index/locallySignedCert:LocallySignedCert.
var LocallySignedCert = standin.Type{
	Token: "tls:index/locallySignedCert:LocallySignedCert",
	Inputs: []string{
		"allowedUses", "caCertPem", "caPrivateKeyPem", "certRequestPem", "earlyRenewalHours",
		"isCaCertificate", "maxPathLength", "setSubjectKeyId", "validityPeriodHours",
	},
	Required: []string{
		"allowedUses", "caCertPem", "caPrivateKeyPem", "certRequestPem", "validityPeriodHours",
	},
	Defaults: certificateDefaults,
	Computed: []string{
		"certPem", "caKeyAlgorithm", "validityStartTime", "validityEndTime", "readyForRenewal",
	},
	Secret:   []string{"caPrivateKeyPem"},
	Validate: validateCertificate,
	Create:   createLocallySigned,
	Refresh:  refreshRenewal,
	Expired:  readyForRenewal,
}

func withDefaults(base resource.PropertyMap, key string, value resource.PropertyValue) resource.PropertyMap {
	merged := base.Copy()
	merged[resource.PropertyKey(key)] = value
	return merged
}

func validateCertificate(p standin.Props) []standin.Failure {
	var failures []standin.Failure
	failures = append(failures, p.CheckType("allowedUses", "list of strings")...)
	for _, use := range p.Strings("allowedUses") {
		_, isKeyUsage := keyUsages[use]
		_, isExtKeyUsage := extKeyUsages[use]
		if !isKeyUsage && !isExtKeyUsage {
			failures = append(failures, standin.Failure{Property: "allowedUses", Reason: fmt.Sprintf(
				"%q is not allowed: use one of %s", use, strings.Join(allUses(), ", "))})
		}
	}
	for _, key := range []string{"validityPeriodHours", "earlyRenewalHours", "maxPathLength"} {
		failures = append(failures, p.CheckType(key, "integer")...)
		failures = append(failures, p.CheckAtLeast(key, 0)...)
	}
	for _, key := range []string{"isCaCertificate", "setSubjectKeyId", "setAuthorityKeyId"} {
		failures = append(failures, p.CheckType(key, "bool")...)
	}
	return failures
}

func validateNames(p standin.Props) []standin.Failure {
	var failures []standin.Failure
	for _, key := range []string{"dnsNames", "ipAddresses", "uris"} {
		failures = append(failures, p.CheckType(key, "list of strings")...)
	}
	for _, address := range p.Strings("ipAddresses") {
		if net.ParseIP(address) == nil {
			failures = append(failures, standin.Failure{Property: "ipAddresses",
				Reason: fmt.Sprintf("%q is not allowed: must be an IPv4 or IPv6 address", address)})
		}
	}
	failures = append(failures, p.CheckType("subject", "object")...)
	for _, key := range p.Object("subject").Keys() {
		if !slices.Contains(subjectKeys, key) {
			failures = append(failures, standin.Failure{Property: "subject." + key,
				Reason: "unknown key; allowed: " + strings.Join(subjectKeys, ", ")})
		}
	}
	return failures
}

func allUses() []string {
	var uses []string
	for use := range keyUsages {
		uses = append(uses, use)
	}
	for use := range extKeyUsages {
		uses = append(uses, use)
	}
	sort.Strings(uses)
	return uses
}

func subjectName(p standin.Props) pkix.Name {
	s := p.Object("subject")
	one := func(key string) []string {
		if value := s.String(key); value != "" {
			return []string{value}
		}
		return nil
	}
	name := pkix.Name{
		CommonName:         s.String("commonName"),
		Organization:       one("organization"),
		OrganizationalUnit: one("organizationalUnit"),
		StreetAddress:      s.Strings("streetAddresses"),
		Locality:           one("locality"),
		Province:           one("province"),
		Country:            one("country"),
		PostalCode:         one("postalCode"),
		SerialNumber:       s.String("serialNumber"),
	}
	if email := s.String("emailAddress"); email != "" {
		name.ExtraNames = append(name.ExtraNames, pkix.AttributeTypeAndValue{Type: emailAddressOID, Value: email})
	}
	return name
}

// alternativeNames are the subject alternative names from dnsNames, ipAddresses and uris.
func alternativeNames(p standin.Props) ([]string, []net.IP, []*url.URL, error) {
	var ips []net.IP
	for _, address := range p.Strings("ipAddresses") {
		ips = append(ips, net.ParseIP(address))
	}
	var uris []*url.URL
	for _, text := range p.Strings("uris") {
		parsed, err := url.Parse(text)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("uris: %q: %w", text, err)
		}
		uris = append(uris, parsed)
	}
	return p.Strings("dnsNames"), ips, uris, nil
}

// template is the certificate's validity, usages and CA constraints from the inputs.
func template(p standin.Props, now time.Time) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, err
	}
	cert := &x509.Certificate{
		SerialNumber:          serial,
		NotBefore:             now,
		NotAfter:              now.Add(time.Duration(p.Int("validityPeriodHours")) * time.Hour),
		BasicConstraintsValid: true,
		IsCA:                  p.Bool("isCaCertificate"),
	}
	for _, use := range p.Strings("allowedUses") {
		if usage, ok := keyUsages[use]; ok {
			cert.KeyUsage |= usage
		} else if usage, ok := extKeyUsages[use]; ok {
			cert.ExtKeyUsage = append(cert.ExtKeyUsage, usage)
		}
	}
	if cert.IsCA && p.Set("maxPathLength") && p.Int("maxPathLength") > 0 {
		cert.MaxPathLen = p.Int("maxPathLength")
	}
	return cert, nil
}

func subjectKeyID(public crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(public)
	if err != nil {
		return nil, err
	}
	digest := sha1.Sum(der) //nolint:gosec // RFC 5280 method 1
	return digest[:], nil
}

func certificateResult(der []byte, cert *x509.Certificate, algorithmKey, algorithm string) standin.Result {
	return standin.Result{
		ID: cert.SerialNumber.String(),
		Outputs: resource.PropertyMap{
			"certPem":                          resource.NewStringProperty(pemText("CERTIFICATE", der)),
			resource.PropertyKey(algorithmKey): resource.NewStringProperty(algorithm),
			"validityStartTime":                resource.NewStringProperty(cert.NotBefore.Format(time.RFC3339)),
			"validityEndTime":                  resource.NewStringProperty(cert.NotAfter.Format(time.RFC3339)),
			"readyForRenewal":                  resource.NewBoolProperty(false),
		},
	}
}

func createSelfSigned(p standin.Props) (standin.Result, error) {
	key, algorithm, err := parsePrivateKey("privateKeyPem", p.String("privateKeyPem"))
	if err != nil {
		return standin.Result{}, err
	}
	cert, err := template(p, time.Now().UTC().Truncate(time.Second))
	if err != nil {
		return standin.Result{}, err
	}
	cert.Subject = subjectName(p)
	if cert.DNSNames, cert.IPAddresses, cert.URIs, err = alternativeNames(p); err != nil {
		return standin.Result{}, err
	}
	if p.Bool("setSubjectKeyId") || p.Bool("setAuthorityKeyId") || cert.IsCA {
		if cert.SubjectKeyId, err = subjectKeyID(key.Public()); err != nil {
			return standin.Result{}, err
		}
	}
	if p.Bool("setAuthorityKeyId") {
		cert.AuthorityKeyId = cert.SubjectKeyId
	}
	der, err := x509.CreateCertificate(rand.Reader, cert, cert, key.Public(), key)
	if err != nil {
		return standin.Result{}, err
	}
	return certificateResult(der, cert, "keyAlgorithm", algorithm), nil
}

func createRequest(p standin.Props) (standin.Result, error) {
	key, algorithm, err := parsePrivateKey("privateKeyPem", p.String("privateKeyPem"))
	if err != nil {
		return standin.Result{}, err
	}
	request := &x509.CertificateRequest{Subject: subjectName(p)}
	if request.DNSNames, request.IPAddresses, request.URIs, err = alternativeNames(p); err != nil {
		return standin.Result{}, err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, request, key)
	if err != nil {
		return standin.Result{}, err
	}
	requestPem := pemText("CERTIFICATE REQUEST", der)
	digest := sha1.Sum([]byte(requestPem)) //nolint:gosec // an id
	return standin.Result{
		ID: hex.EncodeToString(digest[:]),
		Outputs: resource.PropertyMap{
			"certRequestPem": resource.NewStringProperty(requestPem),
			"keyAlgorithm":   resource.NewStringProperty(algorithm),
		},
	}, nil
}

func createLocallySigned(p standin.Props) (standin.Result, error) {
	block, _ := pem.Decode([]byte(p.String("certRequestPem")))
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return standin.Result{}, fmt.Errorf("certRequestPem: not a PEM CERTIFICATE REQUEST")
	}
	request, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return standin.Result{}, fmt.Errorf("certRequestPem: %w", err)
	}
	if err := request.CheckSignature(); err != nil {
		return standin.Result{}, fmt.Errorf("certRequestPem: %w", err)
	}
	block, _ = pem.Decode([]byte(p.String("caCertPem")))
	if block == nil || block.Type != "CERTIFICATE" {
		return standin.Result{}, fmt.Errorf("caCertPem: not a PEM CERTIFICATE")
	}
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return standin.Result{}, fmt.Errorf("caCertPem: %w", err)
	}
	caKey, algorithm, err := parsePrivateKey("caPrivateKeyPem", p.String("caPrivateKeyPem"))
	if err != nil {
		return standin.Result{}, err
	}
	cert, err := template(p, time.Now().UTC().Truncate(time.Second))
	if err != nil {
		return standin.Result{}, err
	}
	cert.Subject = request.Subject
	cert.DNSNames, cert.IPAddresses, cert.URIs = request.DNSNames, request.IPAddresses, request.URIs
	if p.Bool("setSubjectKeyId") {
		if cert.SubjectKeyId, err = subjectKeyID(request.PublicKey); err != nil {
			return standin.Result{}, err
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, cert, ca, request.PublicKey, caKey)
	if err != nil {
		return standin.Result{}, err
	}
	return certificateResult(der, cert, "caKeyAlgorithm", algorithm), nil
}

// readyForRenewal: the certificate is inside its early-renewal window (or past its end).
func readyForRenewal(state standin.Props) bool {
	end, err := time.Parse(time.RFC3339, state.String("validityEndTime"))
	if err != nil {
		return false
	}
	window := time.Duration(state.Int("earlyRenewalHours")) * time.Hour
	return !time.Now().Before(end.Add(-window))
}

func refreshRenewal(state standin.Props) resource.PropertyMap {
	if !state.Known("validityEndTime") {
		return nil
	}
	return resource.PropertyMap{"readyForRenewal": resource.NewBoolProperty(readyForRenewal(state))}
}
