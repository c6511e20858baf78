#!/usr/bin/env bash
# Makes the FastAPI baseline's virtual environment for the load bench (benches/load), from PyPI.
# Usage: benches/load/fastapi_baseline/setup.sh   (then: cargo bench --bench load)
# The venv goes to target/fastapi-venv in the repository, or to $GENHOOK_FASTAPI_VENV.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
venv="${GENHOOK_FASTAPI_VENV:-$repo/target/fastapi-venv}"
python="${PYTHON:-python3}"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
"$venv/bin/python" -c 'import fastapi, uvicorn; print("FastAPI", fastapi.__version__, "uvicorn", uvicorn.__version__)'
echo "FastAPI baseline ready in $venv"
