#!/bin/sh
# Regenerates basefs/ca-certificates.crt, the CA bundle of the default base
# image: the Mozilla roots shipped by Debian's ca-certificates package, in
# file-name order. Only the Mozilla set is taken (not /etc/ssl/certs), so a
# build machine's local or proxy CAs never end up in the image.
set -eu
cd "$(dirname "$0")"
src=${MOZILLA_CA_DIR:-/usr/share/ca-certificates/mozilla}
out=basefs/ca-certificates.crt
LC_ALL=C ls "$src"/*.crt | LC_ALL=C sort | while read -r f; do
	cat "$f"
	# some files lack a trailing newline
	tail -c1 "$f" | od -An -c | grep -q '\\n' || echo
done > "$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out: $(grep -c 'BEGIN CERTIFICATE' "$out") certificates"
