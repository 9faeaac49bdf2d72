#!/bin/sh
# gen-common-passwords.sh regenerates common-passwords.txt (one password per
# line, in the upstream order, most common first) and
# common-passwords-LICENSE.txt from the npm package named below. It is run by
# `go generate ./internal/password/` and needs npm and node on the PATH.
#
# The tarball's integrity is pinned, so the output is byte-for-byte
# reproducible: a republished or tampered package fails here instead of
# silently changing which passwords authd rejects. To move to another version,
# change both values and update README.md.
set -eu

pkg='@zxcvbn-ts/language-common@4.1.3'
integrity='sha512-g2bg4skmlJG9aJqC/nWziZzgYpSe/f3rKeGobrkdFiOrfZVFqqzUgC6BUQWuX54Sua9j0Jxxt+1bf4f/Mal1Kg=='

out=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

cd "$tmp"
tgz=$(npm pack --silent "$pkg")
# npm checks the download against the registry's own record; this checks it
# against ours.
node -e '
const [file, want] = process.argv.slice(1);
const got = "sha512-" + require("crypto").createHash("sha512")
  .update(require("fs").readFileSync(file)).digest("base64");
if (got !== want) {
  console.error(`${file}: integrity ${got}, want ${want}`);
  process.exit(1);
}
' "$tgz" "$integrity"
tar -xzf "$tgz"

node -e '
const fs = require("fs");
const [src, dst] = process.argv.slice(1);
const list = JSON.parse(fs.readFileSync(src, "utf8"));
if (!Array.isArray(list) || list.length < 10000) {
  throw new Error(`unexpected list in ${src}`);
}
for (const p of list) {
  // One password per line: an entry that is not a non-empty single line
  // would corrupt the file, so refuse rather than guess.
  if (typeof p !== "string" || p === "" || /[\r\n]/.test(p)) {
    throw new Error(`unusable entry ${JSON.stringify(p)}`);
  }
}
fs.writeFileSync(dst, list.join("\n") + "\n");
console.log(`${require("path").basename(dst)}: ${list.length} passwords`);
' package/src/passwords.json "$out/common-passwords.txt"
cp package/LICENSE.txt "$out/common-passwords-LICENSE.txt"
