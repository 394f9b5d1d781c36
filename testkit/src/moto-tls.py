# Writes a certificate authority made for this run and a leaf certificate for 127.0.0.1 it signed
# (ca.pem, cert.pem, key.pem) into the folder argv[1]: what moto server serves HTTPS with. RSA 2048
# keys and SHA-256 signatures throughout, as the certificates DynamoDB's endpoints present.
import datetime
import ipaddress
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

out = Path(sys.argv[1])
now = datetime.datetime.now(datetime.timezone.utc)
begins, ends = now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=2)


def name(common):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def new_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


ca_key = new_key()
ca = (
    x509.CertificateBuilder()
    .subject_name(name("testkit run CA"))
    .issuer_name(name("testkit run CA"))
    .public_key(ca_key.public_key())
    .serial_number(x509.random_serial_number())
    .not_valid_before(begins)
    .not_valid_after(ends)
    .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
    .add_extension(
        x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
    )
    .sign(ca_key, hashes.SHA256())
)
key = new_key()
leaf = (
    x509.CertificateBuilder()
    .subject_name(name("127.0.0.1"))
    .issuer_name(ca.subject)
    .public_key(key.public_key())
    .serial_number(x509.random_serial_number())
    .not_valid_before(begins)
    .not_valid_after(ends)
    .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    .add_extension(
        x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
        critical=False,
    )
    .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    .sign(ca_key, hashes.SHA256())
)
pem = serialization.Encoding.PEM
(out / "ca.pem").write_bytes(ca.public_bytes(pem))
(out / "cert.pem").write_bytes(leaf.public_bytes(pem))
(out / "key.pem").write_bytes(
    key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
)
