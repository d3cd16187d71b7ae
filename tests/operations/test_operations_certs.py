"""`python -m operations certs`: certificate dates, expiry thresholds, sources and exit codes.

Certificates are made in each test with the openssl command line, an independent encoder,
and openssl's own reading of the dates is the reference.
"""

from __future__ import annotations

import base64
import io
import json
import shutil
import ssl
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import unavailable

from operations.certs import (
    CertificateSourceError,
    ExpiryState,
    FoundCertificate,
    assess_certificates,
    certificates_in_directory,
    certificates_in_file,
    certificates_in_secret,
    expiry,
)
from operations.cli import EXIT_DEGRADED, EXIT_FAILED, EXIT_OK, EXIT_USAGE, run
from operations.x509 import CertificateFormatError, pem_certificates, read_certificate

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def openssl() -> str:
    path = shutil.which("openssl")
    if path is None:
        unavailable("`openssl` is not on PATH: cannot make test certificates")
    return str(path)


def make_certificate(
    openssl: str, directory: Path, name: str, subject: str = "/CN=node", days: int = 365
) -> Path:
    """A self-signed EC certificate ``<name>.crt`` with its key ``<name>.key``."""
    certificate = directory / f"{name}.crt"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(directory / f"{name}.key"),
            "-out",
            str(certificate),
            "-days",
            str(days),
            "-subj",
            subject,
        ],
        check=True,
        capture_output=True,
    )
    return certificate


def openssl_date(openssl: str, certificate: Path, which: str) -> datetime:
    """`-enddate`/`-startdate` as openssl reports it."""
    result = subprocess.run(
        [openssl, "x509", "-in", str(certificate), "-noout", f"-{which}"],
        check=True,
        capture_output=True,
        text=True,
    )
    text = result.stdout.strip().split("=", 1)[1]
    return datetime.fromtimestamp(ssl.cert_time_to_seconds(text), UTC)


def der_of(certificate: Path) -> bytes:
    (der,) = pem_certificates(certificate.read_text())
    return der


# Reading certificates


def test_not_after_is_read_as_openssl_reports_it(openssl: str, tmp_path: Path) -> None:
    certificate = make_certificate(openssl, tmp_path, "node", days=10)
    validity = read_certificate(der_of(certificate))
    assert validity.not_after == openssl_date(openssl, certificate, "enddate")


def test_not_before_is_read_as_openssl_reports_it(openssl: str, tmp_path: Path) -> None:
    certificate = make_certificate(openssl, tmp_path, "node")
    validity = read_certificate(der_of(certificate))
    assert validity.not_before == openssl_date(openssl, certificate, "startdate")


def test_dates_after_2049_use_generalized_time_and_are_read(openssl: str, tmp_path: Path) -> None:
    certificate = make_certificate(openssl, tmp_path, "ca", days=20000)
    validity = read_certificate(der_of(certificate))
    assert validity.not_after.year > 2049
    assert validity.not_after == openssl_date(openssl, certificate, "enddate")


def test_subject_common_name_is_read(openssl: str, tmp_path: Path) -> None:
    certificate = make_certificate(openssl, tmp_path, "client.root", "/O=Cockroach/CN=root")
    assert read_certificate(der_of(certificate)).common_name == "root"


def test_a_subject_without_common_name_has_none(openssl: str, tmp_path: Path) -> None:
    certificate = make_certificate(openssl, tmp_path, "anon", "/O=Cockroach")
    assert read_certificate(der_of(certificate)).common_name is None


def test_every_certificate_of_a_pem_bundle_is_read(openssl: str, tmp_path: Path) -> None:
    old = make_certificate(openssl, tmp_path, "old", "/CN=old CA")
    new = make_certificate(openssl, tmp_path, "new", "/CN=new CA")
    bundle = tmp_path / "ca.crt"
    bundle.write_text(old.read_text() + new.read_text())
    found = certificates_in_file(bundle)
    assert [(f.source, f.common_name) for f in found] == [
        (f"{bundle}[0]", "old CA"),
        (f"{bundle}[1]", "new CA"),
    ]


def test_a_private_key_file_holds_no_certificate(openssl: str, tmp_path: Path) -> None:
    make_certificate(openssl, tmp_path, "node")
    with pytest.raises(CertificateSourceError, match=r"node\.key: no PEM CERTIFICATE block"):
        certificates_in_file(tmp_path / "node.key")


def test_bytes_that_are_not_der_are_refused() -> None:
    with pytest.raises(CertificateFormatError):
        read_certificate(b"\x04\x03abc")


def test_a_truncated_certificate_is_refused(openssl: str, tmp_path: Path) -> None:
    der = der_of(make_certificate(openssl, tmp_path, "node"))
    with pytest.raises(CertificateFormatError):
        read_certificate(der[: len(der) // 3])


def test_bad_base64_in_a_certificate_block_is_refused() -> None:
    with pytest.raises(CertificateFormatError, match="bad base64"):
        pem_certificates("-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n")


# Expiry thresholds (pure)


def found(days_left: float, *, valid_from: datetime | None = None) -> FoundCertificate:
    return FoundCertificate(
        source="node.crt",
        common_name="node",
        not_before=valid_from or NOW - timedelta(days=300),
        not_after=NOW + timedelta(days=days_left),
    )


def replace_source(certificate: FoundCertificate, source: str) -> FoundCertificate:
    return FoundCertificate(
        source, certificate.common_name, certificate.not_before, certificate.not_after
    )


def test_a_certificate_beyond_the_window_is_ok() -> None:
    assert expiry(found(31), NOW, warn_days=30).state is ExpiryState.OK


def test_a_certificate_inside_the_window_is_expiring() -> None:
    assert expiry(found(29), NOW, warn_days=30).state is ExpiryState.EXPIRING


def test_a_certificate_with_exactly_the_window_left_is_ok() -> None:
    assert expiry(found(30), NOW, warn_days=30).state is ExpiryState.OK


def test_a_certificate_past_its_end_is_expired() -> None:
    result = expiry(found(-2), NOW, warn_days=30)
    assert (result.state, result.days_left) == (ExpiryState.EXPIRED, -2)


def test_a_certificate_whose_start_is_in_the_future_is_not_yet_valid() -> None:
    certificate = found(400, valid_from=NOW + timedelta(hours=1))
    assert expiry(certificate, NOW, warn_days=30).state is ExpiryState.NOT_YET_VALID


def test_days_left_are_whole_days_rounded_down() -> None:
    assert expiry(found(9.9), NOW, warn_days=30).days_left == 9


def test_the_warning_window_is_a_parameter() -> None:
    assert expiry(found(10), NOW, warn_days=7).state is ExpiryState.OK


def test_soonest_expiry_is_listed_first() -> None:
    later, sooner = found(200), replace_source(found(20), "ca.crt")
    assert [e.certificate for e in assess_certificates([later, sooner], NOW)] == [sooner, later]


# Sources


def test_a_certs_directory_yields_every_crt_file_and_no_key(openssl: str, tmp_path: Path) -> None:
    for name, subject in (("ca", "/CN=Cockroach CA"), ("node", "/CN=node")):
        make_certificate(openssl, tmp_path, name, subject)
    make_certificate(openssl, tmp_path, "client.root", "/CN=root")
    sources = [Path(f.source).name for f in certificates_in_directory(tmp_path)]
    assert sources == ["ca.crt", "client.root.crt", "node.crt"]


def test_a_certs_directory_without_certificates_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CertificateSourceError, match=r"no \*\.crt files"):
        certificates_in_directory(tmp_path)


def secret_document(tmp_path: Path, openssl: str) -> dict[str, object]:
    ca = make_certificate(openssl, tmp_path, "ca", "/CN=Cockroach CA")
    node = make_certificate(openssl, tmp_path, "node", "/CN=node")

    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "cockroachdb-node-certs", "namespace": "trading"},
        "data": {
            "ca.crt": b64(ca.read_text()),
            "node.crt": b64(node.read_text()),
            "node.key": "not base64 and never decoded!",
        },
    }


def test_a_secret_yields_its_crt_entries_and_skips_keys(openssl: str, tmp_path: Path) -> None:
    document = secret_document(tmp_path, openssl)
    sources = [f.source for f in certificates_in_secret(document, "s.json")]
    assert sources == [
        "secret/cockroachdb-node-certs:ca.crt",
        "secret/cockroachdb-node-certs:node.crt",
    ]


def test_secret_string_data_is_read_too(openssl: str, tmp_path: Path) -> None:
    certificate = make_certificate(openssl, tmp_path, "client.openalgo", "/CN=openalgo")
    document = {
        "kind": "Secret",
        "metadata": {"name": "cockroachdb-client-openalgo"},
        "stringData": {"client.openalgo.crt": certificate.read_text()},
    }
    (only,) = certificates_in_secret(document, "s.json")
    assert only.common_name == "openalgo"


def test_an_object_that_is_not_a_secret_is_refused() -> None:
    with pytest.raises(CertificateSourceError, match="not a Kubernetes Secret"):
        certificates_in_secret({"kind": "ConfigMap", "data": {}}, "cm.json")


def test_a_secret_without_certificates_is_an_error() -> None:
    document = {"kind": "Secret", "metadata": {"name": "s"}, "data": {"password": "eA=="}}
    with pytest.raises(CertificateSourceError, match=r"Secret s has no \*\.crt entry"):
        certificates_in_secret(document, "s.json")


# The command


def certs_command(argv: list[str], stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(["certs", *argv], out, err, stdin=io.StringIO(stdin))
    return code, out.getvalue(), err.getvalue()


def test_a_certificate_expiring_within_30_days_exits_3(openssl: str, tmp_path: Path) -> None:
    make_certificate(openssl, tmp_path, "ca", "/CN=Cockroach CA", days=3650)
    make_certificate(openssl, tmp_path, "node", "/CN=node", days=10)
    code, out, _ = certs_command(["--certs-dir", str(tmp_path)])
    assert code == EXIT_DEGRADED
    assert "expiring" in out
    assert "1 of 2 certificates need attention (warning window 30 days)" in out


def test_certificates_beyond_the_window_exit_0(openssl: str, tmp_path: Path) -> None:
    make_certificate(openssl, tmp_path, "node", days=365)
    code, out, _ = certs_command(["--certs-dir", str(tmp_path)])
    assert code == EXIT_OK
    assert "all 1 certificates valid for at least 30 more days" in out


def test_warn_days_moves_the_threshold(openssl: str, tmp_path: Path) -> None:
    certificate = make_certificate(openssl, tmp_path, "node", days=10)
    code, _, _ = certs_command(["--cert", str(certificate), "--warn-days", "5"])
    assert code == EXIT_OK


def test_a_secret_can_be_read_from_stdin(openssl: str, tmp_path: Path) -> None:
    document = secret_document(tmp_path, openssl)
    code, out, _ = certs_command(["--secret-file", "-", "--json"], stdin=json.dumps(document))
    assert code == EXIT_OK
    report = json.loads(out)
    assert report["verdict"] == "ok"
    assert [c["source"] for c in report["certificates"]] == [
        "secret/cockroachdb-node-certs:ca.crt",
        "secret/cockroachdb-node-certs:node.crt",
    ]


def test_json_report_lists_days_left_and_state(openssl: str, tmp_path: Path) -> None:
    certificate = make_certificate(openssl, tmp_path, "node", days=10)
    code, out, _ = certs_command(["--cert", str(certificate), "--json"])
    (entry,) = json.loads(out)["certificates"]
    assert code == EXIT_DEGRADED
    assert (entry["common_name"], entry["state"]) == ("node", "expiring")
    assert entry["days_left"] in (9, 10)


def test_an_unreadable_certificate_file_exits_1_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "node.crt"
    code, _, err = certs_command(["--cert", str(missing)])
    assert code == EXIT_FAILED
    assert f"{missing}: cannot read" in err


def test_a_secret_file_that_is_not_json_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "secret.yaml"
    path.write_text("kind: Secret\n")
    code, _, err = certs_command(["--secret-file", str(path)])
    assert code == EXIT_FAILED
    assert "not JSON" in err


def test_no_source_is_a_usage_error() -> None:
    code, _, err = certs_command([])
    assert code == EXIT_USAGE
    assert "give --certs-dir, --cert or --secret-file" in err


def test_a_negative_warning_window_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = certs_command(["--certs-dir", str(tmp_path), "--warn-days", "-1"])
    assert code == EXIT_USAGE
    assert "--warn-days -1: must be >= 0" in err
