#!/usr/bin/env bash
# HTTP load on POST /oauth/token (RFC 8693 token exchange: agent b acting for agent a along
# an accepted delegation) with wrk (Debian package `wrk`), against a release build; then
# the same load on POST /agents/{id}/token (a plain token issue) for a ratio.
#
#   scripts/load-token-exchange.sh sqlite             # embedded SQLite file in a temp dir
#   scripts/load-token-exchange.sh postgres URL       # a PostgreSQL database (schema is created)
#
# CONNECTIONS (default 32) on THREADS (default 2) threads for DURATION (default 20s). BIN
# (default target/release/trust-gateway) picks the binary. Each exchange verifies two
# tokens, checks both agents (from the decision memory once held), their revocations and
# the open delegation (one read-only snapshot), signs a token and waits for its
# `token_issued` record's group commit. The same two tokens are exchanged every time, so
# after the first call their signatures come from the issuer's verified-token memory.
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:?sqlite or postgres}
DURATION=${DURATION:-20s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
PORT=${PORT:-18094}
command -v wrk >/dev/null || { echo "install wrk: apt-get install wrk"; exit 1; }
url=${2:-}
# shellcheck source=lib/release-server.sh
source scripts/lib/release-server.sh

load_agent subject
a=$agent
load_agent actor
b=$agent
api() { curl -fs "http://127.0.0.1:$PORT$1" -H "X-API-Key: $key" -H 'content-type: application/json' -d "$2"; }
api /delegations "{\"from_agent\":\"$a\",\"to_agent\":\"$b\",\"task_type\":\"load\",\"threshold\":0.0}" >/dev/null
token_of() { api "/agents/$1/token" '{}' | sed -n 's/.*"token":"\([^"]*\)".*/\1/p'; }
ta=$(token_of "$a")
tb=$(token_of "$b")
form="grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token=$ta&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token&actor_token=$tb&actor_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token"
curl -fs "http://127.0.0.1:$PORT/oauth/token" -H "X-API-Key: $key" -H 'content-type: application/x-www-form-urlencoded' -d "$form" | grep -q access_token \
    || { echo "the exchange is refused"; exit 1; }

echo "backend=$backend connections=$CONNECTIONS threads=$THREADS duration=$DURATION bin=$bin"
echo "== POST /oauth/token (token exchange)"
CONTENT_TYPE=application/x-www-form-urlencoded wrk_post /oauth/token "$form"
echo "== POST /agents/{id}/token (plain issue, for the ratio)"
wrk_post "/agents/$a/token" '{}'
