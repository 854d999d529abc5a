"""A cluster's own certificate authority and the one certificate its loopback nodes share.

Made once per data dir with `cryptography`, as PEM files Kafka reads directly (keystore and
truststore type PEM); the keys are mode 0600 and never leave the data dir.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from loadtests.cluster.probe import HOST
from services.security import write_private

VALID = datetime.timedelta(days=365)


@dataclass(frozen=True, slots=True)
class TlsFiles:
    ca: Path  # the CA certificate clients trust
    keystore: Path  # the nodes' private key and certificate chain (PEM, mode 0600)


def _name(common: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ndxsim local cluster"),
            x509.NameAttribute(NameOID.COMMON_NAME, common),
        ]
    )


def _signed(
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    signer: ec.EllipticCurvePrivateKey,
    ca: bool,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALID)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        names = [x509.IPAddress(ipaddress.ip_address(HOST)), x509.DNSName("localhost")]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        usage = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
        builder = builder.add_extension(x509.ExtendedKeyUsage(usage), critical=False)
    return builder.sign(signer, hashes.SHA256())


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def keystore_beside(ca: Path) -> Path:
    """The nodes' keystore is kept next to the CA that signed it."""
    return ca.with_name("node.pem")


def ensure_tls(data_dir: Path) -> TlsFiles:
    """The data dir's CA and node certificate, made on first use and kept after."""
    ca = data_dir / "tls" / "ca.pem"
    files = TlsFiles(ca, keystore_beside(ca))
    if files.ca.exists() and files.keystore.exists():
        return files
    ca_key, node_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    ca_name = _name("ndxsim local CA")
    ca_cert = _signed(ca_name, ca_key, ca_name, ca_key, ca=True)
    node_cert = _signed(_name(HOST), node_key, ca_name, ca_key, ca=False)
    key_pem = node_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,  # the form Kafka's PEM keystore reads
        serialization.NoEncryption(),
    ).decode()
    write_private(files.keystore, key_pem + _pem(node_cert) + _pem(ca_cert))
    write_private(files.ca, _pem(ca_cert))
    return files
