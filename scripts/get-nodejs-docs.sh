#!/bin/sh
# Fetch the Node.js API docs (Markdown, MIT/Expat licence) from the Debian
# package "nodejs-doc" and copy ten of them, decompressed but otherwise
# unchanged, into a corpus folder.
#
# Usage: scripts/get-nodejs-docs.sh [DEST]   (default: ../nodejs-docs)
# Needs only apt-get (package registry access), dpkg-deb and gzip.
set -eu

DEST=${1:-../nodejs-docs}
PKG=nodejs-doc
FILES="cli fs path events http process buffer child_process os url"

WORK=$(mktemp -d)
chmod 755 "$WORK"   # lets the _apt user write the download
trap 'rm -rf "$WORK"' EXIT INT TERM

( cd "$WORK" && apt-get download "$PKG" >/dev/null )
DEB=$(ls "$WORK"/"$PKG"_*.deb | head -n 1)
VERSION=$(dpkg-deb -f "$DEB" Version)
dpkg-deb -x "$DEB" "$WORK/root"

API="$WORK/root/usr/share/doc/nodejs/api"
mkdir -p "$DEST"
for f in $FILES; do
    if [ -f "$API/$f.md" ]; then
        cp "$API/$f.md" "$DEST/$f.md"
    elif [ -f "$API/$f.md.gz" ]; then
        # Debian gzips documentation; decompress, contents unchanged.
        gzip -dc "$API/$f.md.gz" > "$DEST/$f.md"
    else
        echo "missing: $f.md" >&2
        exit 1
    fi
done

cat > "$DEST/SOURCE.md" <<SRC
# Source

- Debian package: $PKG $VERSION
- Files: $(for f in $FILES; do printf '%s.md ' "$f"; done)
- Origin path in package: /usr/share/doc/nodejs/api/<name>.md.gz (gunzipped, otherwise unchanged)
- Licence: Expat (MIT), "Files: *" stanza of /usr/share/doc/nodejs-doc/copyright in the package
SRC

echo "$PKG $VERSION -> $DEST"
