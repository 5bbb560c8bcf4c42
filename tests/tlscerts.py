"""Tiny certificate authorities for TLS tests, made in a test's own folder (`cryptography`,
pinned in requirements/*.txt): a CA, a server certificate for 127.0.0.1 and localhost, and a
client certificate, each a PEM file beside its key."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class Pair:
    cert: Path
    key: Path


class TestCA:
    """A CA named `name` whose files live in `folder` (`<name>.pem`: its certificate)."""

    __test__ = False  # not a pytest test class

    def __init__(self, folder: Path, name: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.name = name
        self._key = ec.generate_private_key(ec.SECP256R1())
        subject = _name(f"{name} test CA")
        self._subject = subject
        cert = (
            _builder(subject, subject, self._key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(self._key, hashes.SHA256())
        )
        self.cert = folder / f"{name}.pem"
        self.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    def server(self, name: str = "server") -> Pair:
        """A certificate for 127.0.0.1 and localhost, for a server."""
        names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        return self._issue(
            name, x509.SubjectAlternativeName(names), ExtendedKeyUsageOID.SERVER_AUTH
        )

    def client(self, name: str = "client") -> Pair:
        """A certificate a client (or a leaf node dialling its hub) presents."""
        names = x509.SubjectAlternativeName([x509.DNSName(name)])
        return self._issue(name, names, ExtendedKeyUsageOID.CLIENT_AUTH)

    def _issue(
        self, name: str, names: x509.SubjectAlternativeName, usage: x509.ObjectIdentifier
    ) -> Pair:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            _builder(_name(name), self._subject, key.public_key())
            .add_extension(names, critical=False)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(self._key, hashes.SHA256())
        )
        pair = Pair(
            self.folder / f"{self.name}-{name}.pem", self.folder / f"{self.name}-{name}.key"
        )
        pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        pair.key.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        pair.key.chmod(0o600)
        return pair


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(
    subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePublicKey
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _DAY)
        .not_valid_after(now + _DAY)
    )
