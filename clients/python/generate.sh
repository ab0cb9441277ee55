#!/usr/bin/env bash
# Generates the Python client from the OpenAPI document, with openapi-python-client and no
# hand edits: clients/python/generate.sh [SOURCE] [DIR]
#   SOURCE  a running gateway's document (http://127.0.0.1:8080/openapi.json) or a file;
#           default: docs/openapi.json
#   DIR     where the package `trust_gateway_client` goes (put DIR on PYTHONPATH);
#           default: clients/python/build
# OPENAPI_PYTHON_CLIENT names the generator (default: openapi-python-client on PATH).
# Any generator warning fails the run: a document the generator cannot fully use is a bug.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source=${1:-$here/../../docs/openapi.json}
dir=${2:-$here/build}
generator=${OPENAPI_PYTHON_CLIENT:-openapi-python-client}
case $source in
    http://* | https://*) from=(--url "$source") ;;
    *) from=(--path "$source") ;;
esac
mkdir -p "$dir"
"$generator" generate "${from[@]}" --output-path "$dir/trust_gateway_client" --meta none \
    --config "$here/config.yaml" --fail-on-warning --overwrite
