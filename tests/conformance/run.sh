#!/usr/bin/env bash
# Runs the public SCIM conformance checkers (scim2-tester, scim-sanity)
# against a fresh rosterd with a fresh SCIM token.
# Usage: tests/conformance/run.sh VENV_BIN_DIR   (binaries from `cargo build`)
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="$1"
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
./target/debug/rosterd --data-dir "$data" --listen "127.0.0.1:$port" --public-url "$base" >"$data/rosterd.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
# Poll the health check for up to 10 s.
healthy=no
for _ in $(seq 100); do
  if curl -fs "$base/healthz" >/dev/null 2>&1; then healthy=yes; break; fi
  sleep 0.1
done
if [ "$healthy" != yes ]; then
  echo "rosterd did not answer /healthz within 10 s:"; cat "$data/rosterd.log"; exit 1
fi
token=$(ROSTER_SOCKET="$data/rosterd.sock" ./target/debug/roster scim-token create --name conformance | tail -n 1)
status=0
"$bin/python" tests/conformance/scim2_tester_run.py "$base/scim/v2" "$token" || status=1
"$bin/scim-sanity" probe "$base/scim/v2" --token "$token" --i-accept-side-effects --strict | tail -n 4 || status=1
if [ "$status" -ne 0 ]; then
  echo "SCIM conformance failed; rosterd's log:"; tail -n 50 "$data/rosterd.log"
fi
exit $status
