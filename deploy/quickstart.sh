#!/usr/bin/env bash
# The main job, end to end on one machine: installs what is missing, builds, starts fixmined on
# an embedded store in ./.fixmine, registers a repository (default: this project's own git
# history), mines it, streams a few records to stdout, and stops the server.
# Usage: deploy/quickstart.sh [REPO_PATH] [RECORDS_TO_SHOW]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
REPO="$(cd "${1:-$ROOT}" && pwd)"
SHOW="${2:-3}"
cd "$ROOT"
bash deploy/build.sh >&2
BIN="$ROOT/${BUILD_DIR:-build}"
DATA="$ROOT/.fixmine"
mkdir -p "$DATA"
rm -f "$DATA/port"
"$BIN/server/fixmined" --listen 127.0.0.1:0 --data-dir "$DATA/data" --allowed-root "$REPO" \
  --port-file "$DATA/port" 2>>"$DATA/fixmined.log" &
SERVER_PID=$!
trap 'kill -TERM $SERVER_PID 2>/dev/null; wait $SERVER_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [ -s "$DATA/port" ] && break; sleep 0.1; done
[ -s "$DATA/port" ] || { echo "fixmined did not start; see $DATA/fixmined.log" >&2; exit 1; }
export FIXMINE_SERVER="127.0.0.1:$(cat "$DATA/port")"
FIXMINE="$BIN/client/fixmine"
NAME="$(basename "$REPO" .git)"
echo "fixmined on $FIXMINE_SERVER, store in $DATA/data" >&2
"$FIXMINE" repo show "$NAME" >/dev/null 2>&1 || "$FIXMINE" repo add "$REPO" --name "$NAME" >&2
"$FIXMINE" mine "$NAME" --wait >&2
echo "records stored for $NAME: $("$FIXMINE" records count --filter "repo = \"$NAME\"")" >&2
"$FIXMINE" records stream --filter "repo = \"$NAME\"" --limit "$SHOW" 2>/dev/null
