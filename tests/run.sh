#!/usr/bin/env bash
# Run every test: the Python suite, then the lab extension's TypeScript unit tests, its
# server endpoints and its browser tests, each of the last two in a pytest process of its
# own (pytest-jupyter's fixtures would otherwise wrap every test; see tests/lab/conftest.py).
#   bash tests/setup.sh && bash tests/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pytest -q "$@"
(export PATH="$PWD/.venv/bin:$PATH"; cd extensions && jlpm test)
.venv/bin/python -m pytest -q tests/lab/server
.venv/bin/python -m pytest -q tests/lab/browser
