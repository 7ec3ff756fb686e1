"""SMPP over TLS: the same server factory behind a TLS layer, and a self-signed certificate for
the demo configuration (made once, on first start, when the files do not exist)."""

from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path
from typing import Any

from twisted.internet.protocol import Factory
from twisted.internet.ssl import CertificateOptions, PrivateCertificate, TLSVersion
from twisted.protocols.tls import TLSMemoryBIOFactory, TLSMemoryBIOProtocol

from ..config import ConfigError, TlsConfig


def make_self_signed(certificate: Path, key: Path, hostname: str = "localhost") -> None:
    """Write a self-signed RSA certificate for ``hostname`` and 127.0.0.1, valid ten years."""
    from cryptography import x509  # noqa: PLC0415 (only needed on the first start of the demo)
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: PLC0415
    from cryptography.x509.oid import NameOID  # noqa: PLC0415

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(hostname), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(private, hashes.SHA256())
    )
    certificate.parent.mkdir(parents=True, exist_ok=True)
    key.parent.mkdir(parents=True, exist_ok=True)
    key_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # the key is readable by us only
    with os.fdopen(fd, "wb") as f:
        f.write(key_pem)
    certificate.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def load_certificate(config: TlsConfig) -> tuple[PrivateCertificate, bool]:
    """The configured pair (made first when allowed and missing); True when it was just made."""
    cert_path, key_path = Path(config.certificate), Path(config.key)
    made = False
    if not cert_path.exists() and not key_path.exists() and config.self_signed:
        make_self_signed(cert_path, key_path)
        made = True
    try:
        pem = cert_path.read_bytes() + b"\n" + key_path.read_bytes()
    except OSError as err:
        raise ConfigError(f"tls: cannot read {err.filename}: {err.strerror} (tls.certificate / tls.key)") from None
    try:
        return PrivateCertificate.loadPEM(pem), made  # type: ignore[no-untyped-call]
    except Exception as err:  # pyOpenSSL raises its own error types for bad PEM
        raise ConfigError(f"tls: {cert_path} / {key_path} are not a PEM certificate and its key: {err}") from None


class _NoDelayTLSProtocol(TLSMemoryBIOProtocol):
    def makeConnection(self, transport: Any) -> None:  # noqa: N802 (Twisted's name)
        # SMPP is request/response: Nagle's algorithm would hold small PDUs back.
        if hasattr(transport, "setTcpNoDelay"):
            transport.setTcpNoDelay(True)
        super().makeConnection(transport)  # type: ignore[no-untyped-call]


def tls_factory(factory: Factory, certificate: PrivateCertificate) -> TLSMemoryBIOFactory:
    options = CertificateOptions(
        privateKey=certificate.privateKey.original,
        certificate=certificate.original,
        raiseMinimumTo=TLSVersion.TLSv1_2,
    )
    wrapped = TLSMemoryBIOFactory(options, False, factory)
    wrapped.protocol = _NoDelayTLSProtocol
    return wrapped
