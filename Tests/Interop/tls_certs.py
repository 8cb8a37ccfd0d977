"""Test certificates for the TLS pairings, made with the openssl command at test
time (never committed): a CA, a server certificate it signed for localhost,
127.0.0.1 and *.test.google.fr (the interop suite's name), and a client
certificate it signed (client.pem, client.key) for mutual TLS. The same shapes
as Interop/Sources/InteropTesting/TestCertificates.swift.
"""

import os
import secrets
import subprocess

SERVER_NAME_OVERRIDE = "foo.test.google.fr"

CONFIG = """\
[ca]
prompt = no
distinguished_name = ca_name
[ca_name]
O = gRPC Simple tests
CN = gRPC Simple pytest CA
[ca_extensions]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[server]
prompt = no
distinguished_name = server_name
[server_name]
O = gRPC Simple tests
CN = localhost
[server_extensions]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, DNS:*.test.google.fr
authorityKeyIdentifier = keyid

[client]
prompt = no
distinguished_name = client_name
[client_name]
O = gRPC Simple tests
CN = gRPC Simple pytest client
[client_extensions]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
"""


class Certificates:
    def __init__(self, directory):
        self.directory = directory
        self.ca = os.path.join(directory, "ca.pem")
        self.server_cert = os.path.join(directory, "server.pem")
        self.server_key = os.path.join(directory, "server.key")
        self.client_cert = os.path.join(directory, "client.pem")
        self.client_key = os.path.join(directory, "client.key")


def _openssl(directory, *args):
    result = subprocess.run(["openssl"] + list(args), cwd=directory, stdin=subprocess.DEVNULL,
                            capture_output=True, timeout=60)
    if result.returncode != 0:
        raise RuntimeError("openssl %s failed (%d): %s" % (
            " ".join(args), result.returncode, result.stderr.decode("utf-8", "replace")))


def create(directory):
    """Makes the set in `directory` (which must exist) and returns it."""
    config = os.path.join(directory, "openssl.cnf")
    with open(config, "w") as f:
        f.write(CONFIG)
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl(directory, "req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.pem",
             "-days", "30", "-config", config, "-section", "ca", "-extensions", "ca_extensions")
    _openssl(directory, "req", "-new", *key, "-keyout", "server.key", "-out", "server.csr",
             "-config", config, "-section", "server")
    _openssl(directory, "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-set_serial", "0x%x" % secrets.randbits(63), "-days", "30", "-out", "server.pem",
             "-extfile", config, "-extensions", "server_extensions")
    _openssl(directory, "req", "-new", *key, "-keyout", "client.key", "-out", "client.csr",
             "-config", config, "-section", "client")
    _openssl(directory, "x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-set_serial", "0x%x" % secrets.randbits(63), "-days", "30", "-out", "client.pem",
             "-extfile", config, "-extensions", "client_extensions")
    return Certificates(directory)
