#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what the tests need (the moto venv,
# headless Chromium and its WebDriver),
# then rustfmt, clippy and every test. Build output goes to ~/.cache/nhiscope/target so
# repeated runs are incremental (a cold run works the same, only slower).
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${NHISCOPE_CACHE:-$HOME/.cache/nhiscope}"
VENV="$CACHE/moto-venv"
mkdir -p "$CACHE"
if ! "$VENV/bin/python" -c "import moto, boto3, cryptography, werkzeug, duckdb" 2>/dev/null; then
  echo "==> installing moto[server] (and DuckDB's own client, to open our store file) into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check 'moto[server]==5.2.5' boto3 cryptography duckdb
fi
# The dashboard's browser test drives Debian's headless Chromium over WebDriver.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  echo "==> installing chromium and chromium-driver (browser tests)"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq chromium chromium-driver
fi
export NHISCOPE_TEST_PYTHON="$VENV/bin/python"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CACHE/target}"

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
# The code's own documentation, links included (private items too: it is written for the
# people working on it).
echo "==> cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --document-private-items --locked
# The cargo-fuzz targets live outside the workspace (no DuckDB in their build): compile and lint
# them here so a parser API change cannot break them unnoticed (running them: scripts/fuzz.sh).
echo "==> cargo fmt --check, cargo clippy (fuzz targets)"
cargo fmt --manifest-path fuzz/Cargo.toml -- --check
CARGO_TARGET_DIR="$CACHE/fuzz-check" cargo clippy --manifest-path fuzz/Cargo.toml --bins --locked -- -D warnings
echo "==> cargo test"
log="$(mktemp)"
cargo test --workspace --locked 2>&1 | tee "$log"
# One closing line over every test binary.
awk '/^test result:/ { p += $4; f += $6 } END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
rm -f "$log"
