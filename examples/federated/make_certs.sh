#!/usr/bin/env bash
# Certificates and keys for a real federation: a private CA, the SuperLink's TLS certificate
# (for SUPERLINK_HOST), and one EC key pair per site for SuperNode authentication.
#   ./make_certs.sh superlink.example.org site-a site-b site-c
# Writes ./certs/: ca.crt (give to every site), ca.key (keep offline), superlink.{crt,key}
# (SuperLink machine only), SITE.key / SITE.pub (the site keeps SITE.key; the SuperLink
# operator registers SITE.pub). Private keys are created with mode 0600.
set -euo pipefail
host=${1:?usage: make_certs.sh SUPERLINK_HOST SITE...}
shift
[ "$#" -ge 1 ] || { echo "name at least one site" >&2; exit 2; }
out=${CERT_DIR:-certs}
mkdir -p "$out"
umask 077
openssl req -x509 -newkey rsa:4096 -sha256 -days 365 -nodes -subj "/CN=privtrain-federation-ca" \
  -keyout "$out/ca.key" -out "$out/ca.crt" 2>/dev/null
openssl req -newkey rsa:4096 -nodes -subj "/CN=$host" \
  -keyout "$out/superlink.key" -out "$out/superlink.csr" 2>/dev/null
case "$host" in
  *[!0-9.]*) san="DNS:$host,IP:127.0.0.1" ;;
  *) san="IP:$host" ;;
esac
printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$san" > "$out/superlink.ext"
openssl x509 -req -in "$out/superlink.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" \
  -CAcreateserial -days 365 -sha256 -extfile "$out/superlink.ext" -out "$out/superlink.crt" 2>/dev/null
rm -f "$out/superlink.csr" "$out/superlink.ext" "$out/ca.srl"
for site in "$@"; do
  # SuperNode authentication keys: ECDSA P-384 in OpenSSH format, as flower-supernode and
  # `flwr supernode register` read them (written with the `cryptography` package privtrain uses)
  python - "$out/$site" <<'PY'
import os, sys
from cryptography.hazmat.primitives import serialization as s
from cryptography.hazmat.primitives.asymmetric import ec
key = ec.generate_private_key(ec.SECP384R1())
fd = os.open(sys.argv[1] + ".key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
os.write(fd, key.private_bytes(s.Encoding.PEM, s.PrivateFormat.OpenSSH, s.NoEncryption()))
os.close(fd)
with open(sys.argv[1] + ".pub", "wb") as f:
    f.write(key.public_key().public_bytes(s.Encoding.OpenSSH, s.PublicFormat.OpenSSH) + b"\n")
PY
done
chmod 644 "$out/ca.crt" "$out/superlink.crt" "$out"/*.pub
echo "wrote $out/: ca.crt superlink.crt/.key and keys for: $*"
