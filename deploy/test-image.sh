#!/usr/bin/env bash
# Builds the container image from deploy/Dockerfile with podman and checks it for real:
#   1. installs podman, runc, debootstrap and uidmap when missing (apt-get);
#   2. makes a Debian 12 base image with debootstrap from this machine's configured Debian mirror
#      (no image registry is needed) and imports it; the tarball is cached in FIXMINE_CACHE_DIR;
#   3. builds the image; the build stage compiles with ccache on the host's ccache folder, so the
#      objects the host build compiled are reused (docs/deploy.md, "CI and timing");
#   4. checks the image's metadata (non-root user, data volume, HEALTHCHECK);
#   5. starts the container on loopback with a git repository built here, mines it through the
#      host's fixmine CLI, streams every record and compares the commits with git's own list,
#      runs the image's health check, stops the container (it must exit 0 after draining),
#      starts it again on the same volume and finds the records still there;
#   6. starts it once more under a seccomp profile that refuses the landlock_* calls and unshare
#      (an older Docker's default): the mining worker must still mine, run degraded and say so
#      (worker_sandbox "no Landlock", a start-up warning), as docs/security.md describes.
# Usage: deploy/test-image.sh     (as root; run after deploy/build.sh, it uses BUILD_DIR's CLI)
# Environment: FIXMINE_CACHE_DIR (default ~/.cache/fixmine), FIXMINE_IMAGE (default
# localhost/fixmine:test), FIXMINE_IMAGE_JOBS (compile jobs in the build stage; default nproc).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
CACHE="${FIXMINE_CACHE_DIR:-$HOME/.cache/fixmine}"
IMAGE="${FIXMINE_IMAGE:-localhost/fixmine:test}"
BASE_IMAGE="localhost/fixmine-base:bookworm"
JOBS="${FIXMINE_IMAGE_JOBS:-$(nproc 2>/dev/null || echo 2)}"
FIXMINE="$ROOT/${BUILD_DIR:-build}/client/fixmine"
START=$SECONDS
log() { echo "test-image: [$((SECONDS - START))s] $*" >&2; }
fail() { echo "test-image: FAILED: $*" >&2; exit 1; }

[ -x "$FIXMINE" ] || fail "$FIXMINE is missing; build first (bash deploy/build.sh)"

# --- 1. tools --------------------------------------------------------------------------------
need=()
for p in podman runc debootstrap uidmap ccache; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
fi

WORK="$(mktemp -d)"
NAME="fixmine-test-$$"
VOLUME="fixmine-test-data-$$"
cleanup() {
  podman rm -f -t 5 "$NAME" >/dev/null 2>&1 || true
  podman volume rm -f "$VOLUME" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# podman here: the runc runtime, no default ulimits (the container may not raise them), host
# networking (no bridge or slirp set-up is needed, and the build's apt-get reaches the mirror).
cat >"$WORK/containers.conf" <<'EOF'
[containers]
default_ulimits = []
EOF
export CONTAINERS_CONF="$WORK/containers.conf"
PODMAN=(podman --runtime runc)

# --- 2. base image ---------------------------------------------------------------------------
# The Debian mirror and security mirror this machine's apt uses (deb822 or one-line format).
mirror_of() {  # $1: suffix of the archive ("debian" or "debian-security")
  { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list \
    2>/dev/null || true; } | grep -v '^\s*#' | grep -oE "https?://[^ ]+/$1/?( |$)" | head -1 |
    tr -d ' ' || true
}
MIRROR="$(mirror_of debian)"
MIRROR="${MIRROR:-http://deb.debian.org/debian/}"
SECURITY="$(mirror_of debian-security)"
SECURITY="${SECURITY:-http://deb.debian.org/debian-security/}"
BASE_TAR="$CACHE/debian-bookworm-minbase.tar"
mkdir -p "$CACHE"
if [ ! -s "$BASE_TAR" ]; then
  log "debootstrap bookworm from $MIRROR"
  rootfs="$WORK/rootfs"
  debootstrap --variant=minbase bookworm "$rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
    { tail -20 "$WORK/debootstrap.log" >&2; fail "debootstrap"; }
  cat >"$rootfs/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb $SECURITY bookworm-security main
EOF
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -cf "$BASE_TAR.tmp" . && mv "$BASE_TAR.tmp" "$BASE_TAR"
  rm -rf "$rootfs"
  podman rmi -f "$BASE_IMAGE" >/dev/null 2>&1 || true
fi
if ! podman image exists "$BASE_IMAGE"; then
  log "importing $BASE_TAR as $BASE_IMAGE"
  podman import -q "$BASE_TAR" "$BASE_IMAGE" >/dev/null
fi

# --- 3. build --------------------------------------------------------------------------------
# The build stage's ccache is the host's, so objects the host build compiled are hits.
CCACHE_HOST="$(ccache -k cache_dir 2>/dev/null || true)"
CCACHE_HOST="${CCACHE_HOST:-$CACHE/ccache}"
mkdir -p "$CCACHE_HOST"
log "building $IMAGE (jobs $JOBS, ccache $CCACHE_HOST)"
"${PODMAN[@]}" build --network host --format docker -f deploy/Dockerfile \
  --build-arg BASE_IMAGE="$BASE_IMAGE" --build-arg JOBS="$JOBS" \
  -v "$CCACHE_HOST:/ccache" -t "$IMAGE" . >"$WORK/build.log" 2>&1 ||
  { tail -40 "$WORK/build.log" >&2; fail "podman build (log above)"; }
grep -m2 -E '^ *(Hits|Misses):' "$WORK/build.log" | sed 's/^ */test-image: build stage ccache /' >&2 || true
log "image built: $(podman image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}')"

# --- 4. metadata -----------------------------------------------------------------------------
user="$(podman image inspect -f '{{.Config.User}}' "$IMAGE")"
[ -n "$user" ] && [ "${user%%:*}" != 0 ] && [ "${user%%:*}" != root ] ||
  fail "image runs as \"$user\"; expected a non-root user"
podman image inspect -f '{{json .Config.Volumes}}' "$IMAGE" | grep -q '"/var/lib/fixmine"' ||
  fail "image does not declare /var/lib/fixmine as a volume"
podman image inspect -f '{{json .Config.Healthcheck}}' "$IMAGE" | grep -q 'fixmine' ||
  fail "image has no HEALTHCHECK through fixmine health"

# --- 5. run ----------------------------------------------------------------------------------
# A repository with fixed dates and signatures: 3 commits on main, a branch merged back.
REPO="$WORK/git/demo"
mkdir -p "$REPO"
export GIT_AUTHOR_NAME=Ada GIT_AUTHOR_EMAIL=ada@example.com
export GIT_COMMITTER_NAME=Ada GIT_COMMITTER_EMAIL=ada@example.com
g() { git -C "$REPO" -c init.defaultBranch=main -c commit.gpgsign=false "$@" >/dev/null; }
commit() {  # $1: date, $2: message
  GIT_AUTHOR_DATE="$1 +0000" GIT_COMMITTER_DATE="$1 +0000" g commit -q -m "$2"
}
g init -q
printf 'int add(int a, int b) { return a - b; }\n' >"$REPO/add.c"
g add add.c && commit "2024-01-01T10:00:00" "add: first version"
printf 'int add(int a, int b) { return a + b; }\n' >"$REPO/add.c"
g add add.c && commit "2024-01-02T10:00:00" "Fix add returning the difference (fixes #1)"
g checkout -q -b feature
printf 'int sub(int a, int b) { return a - b; }\n' >"$REPO/sub.c"
g add sub.c && commit "2024-01-03T10:00:00" "sub: new function"
g checkout -q main
printf '# demo\n' >"$REPO/README.md"
g add README.md && commit "2024-01-04T10:00:00" "docs: readme"
GIT_AUTHOR_DATE="2024-01-05T10:00:00 +0000" GIT_COMMITTER_DATE="2024-01-05T10:00:00 +0000" \
  g merge -q --no-ff -m "Merge branch feature" feature
git -C "$REPO" rev-list --no-merges HEAD | sort >"$WORK/expected"
# libgit2 refuses a repository owned by another user: the container's user owns it.
uid="${user%%:*}"
chown -R "$uid:$uid" "$WORK/git"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
export FIXMINE_SERVER="127.0.0.1:$(free_port)"
# Prometheus metrics, when this fixmined has --metrics-listen (docs/deploy.md).
METRICS=()
server_help="$("${PODMAN[@]}" run --rm --network host "$IMAGE" --help 2>&1 || true)"
if grep -q -- --metrics-listen <<<"$server_help"; then
  METRICS_ADDR="127.0.0.1:$(free_port)"
  METRICS=(--metrics-listen "$METRICS_ADDR")
fi
start_container() {  # extra podman run options in "$@"
  # --health-interval disable: no periodic checks (podman would schedule them with systemd
  # timers, and there may be no systemd); the test runs the check itself. podman still logs that
  # it found no systemd; that goes to podman.err.
  "${PODMAN[@]}" run -d --name "$NAME" --network host -e FIXMINE_SERVER="$FIXMINE_SERVER" \
    --health-interval disable "$@" \
    -v "$VOLUME:/var/lib/fixmine" -v "$WORK/git:/srv/git:ro" "$IMAGE" \
    --listen "$FIXMINE_SERVER" --data-dir /var/lib/fixmine --allowed-root /srv/git "${METRICS[@]}" \
    >/dev/null 2>"$WORK/podman.err" || { cat "$WORK/podman.err" >&2; fail "podman run"; }
  for _ in $(seq 1 150); do
    "$FIXMINE" health >/dev/null 2>&1 && return 0
    [ "$(podman inspect -f '{{.State.Running}}' "$NAME")" = true ] || break
    sleep 0.2
  done
  podman logs "$NAME" >&2 || true
  fail "fixmined in the container did not answer health checks on $FIXMINE_SERVER"
}
stop_container() {
  podman stop -t 30 "$NAME" >/dev/null 2>"$WORK/podman.err"
  code="$(podman inspect -f '{{.State.ExitCode}}' "$NAME")"
  podman logs "$NAME" >"$WORK/server.log" 2>&1
  [ "$code" = 0 ] || { cat "$WORK/server.log" >&2; fail "fixmined exited with $code on stop"; }
  grep -q "fixmined: stopped" "$WORK/server.log" ||
    { cat "$WORK/server.log" >&2; fail "fixmined did not drain and stop"; }
  podman rm "$NAME" >/dev/null 2>"$WORK/podman.err"
}

log "starting the container on $FIXMINE_SERVER"
start_container
[ "$(podman exec "$NAME" id -u)" = "$uid" ] || fail "fixmined does not run as uid $uid"
podman healthcheck run "$NAME" >/dev/null || fail "the image's HEALTHCHECK reports unhealthy"
"$FIXMINE" repo add /srv/git/demo --name demo >/dev/null
"$FIXMINE" mine demo --wait >"$WORK/mine.out" 2>"$WORK/mine.err" ||
  { cat "$WORK/mine.err" >&2; fail "mine"; }
# podman's default seccomp profile lets the worker apply Landlock (this kernel has it).
grep -q '^worker_sandbox: *landlock ABI' "$WORK/mine.out" ||
  { cat "$WORK/mine.out" >&2; fail "the container's mining worker did not run under Landlock"; }
log "worker: $(grep '^worker_sandbox:' "$WORK/mine.out" | sed 's/^worker_sandbox: *//')"
"$FIXMINE" records stream --filter 'repo = "demo"' >"$WORK/records.jsonl"
python3 - "$WORK/records.jsonl" "$WORK/expected" <<'EOF'
import json, sys
records = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
expected = sorted(open(sys.argv[2]).read().split())
got = sorted(r["commit"] for r in records)
if got != expected:
    sys.exit(f"streamed commits {got} differ from git rev-list --no-merges {expected}")
fix = [r for r in records if r["subject"].startswith("Fix add")]
if len(fix) != 1 or "+int add(int a, int b) { return a + b; }" not in fix[0]["files"][0]["patch"]:
    sys.exit("the fix commit's record does not carry its patch")
EOF
count="$("$FIXMINE" records count --filter 'repo = "demo"')"
[ "$count" = "$(wc -l <"$WORK/expected")" ] || fail "records count says $count"
if [ ${#METRICS[@]} -gt 0 ]; then
  python3 - "http://$METRICS_ADDR/metrics" <<'EOF' || fail "no Prometheus metrics at $METRICS_ADDR"
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=10) as r:
    body = r.read().decode()
if r.status != 200 or "# TYPE" not in body:
    sys.exit(f"GET {sys.argv[1]}: status {r.status}, no '# TYPE' line in {body[:200]!r}")
EOF
  log "metrics served at $METRICS_ADDR/metrics"
fi
log "mined and streamed $count records; stopping"
stop_container

log "restarting on the same volume"
start_container
count2="$("$FIXMINE" records count --filter 'repo = "demo"')"
[ "$count2" = "$count" ] || fail "after a restart the volume holds $count2 records, not $count"
stop_container

# --- 6. a container whose seccomp profile blocks Landlock and unshare -------------------------
# podman's own profile with landlock_* and unshare taken out of its allow rules: they then get
# the profile's default action (an errno), as under Docker releases that predate Landlock.
SECCOMP_DEFAULT="${FIXMINE_SECCOMP_PROFILE:-/usr/share/containers/seccomp.json}"
if [ -r "$SECCOMP_DEFAULT" ]; then
  python3 - "$SECCOMP_DEFAULT" "$WORK/seccomp-nosandbox.json" <<'EOF'
import json, sys
profile = json.load(open(sys.argv[1]))
blocked = {"landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self", "unshare"}
if profile.get("defaultAction") == "SCMP_ACT_ALLOW":
    sys.exit("the default seccomp profile allows every call; cannot derive a blocking one")
for rule in profile["syscalls"]:
    if rule.get("action") == "SCMP_ACT_ALLOW":
        rule["names"] = [n for n in rule["names"] if n not in blocked]
profile["syscalls"] = [r for r in profile["syscalls"] if r["names"]]
json.dump(profile, open(sys.argv[2], "w"))
EOF
  log "restarting under a seccomp profile without landlock_* and unshare"
  start_container --security-opt "seccomp=$WORK/seccomp-nosandbox.json"
  "$FIXMINE" repo add /srv/git/demo --name demo-nosandbox >/dev/null
  "$FIXMINE" mine demo-nosandbox --wait >"$WORK/mine2.out" 2>"$WORK/mine.err" ||
    { cat "$WORK/mine.err" "$WORK/mine2.out" >&2; fail "mine under the blocking seccomp profile"; }
  grep -q '^worker_sandbox: *no Landlock' "$WORK/mine2.out" ||
    { cat "$WORK/mine2.out" >&2; fail "worker_sandbox does not say the worker ran without Landlock"; }
  count3="$("$FIXMINE" records count --filter 'repo = "demo-nosandbox"')"
  [ "$count3" = "$count" ] || fail "the degraded worker mined $count3 records, not $count"
  log "degraded worker: $(grep '^worker_sandbox:' "$WORK/mine2.out" | sed 's/^worker_sandbox: *//')"
  stop_container
  grep -q "the kernel has no Landlock" "$WORK/server.log" ||
    { cat "$WORK/server.log" >&2; fail "fixmined did not warn at start that it has no Landlock"; }
else
  log "no $SECCOMP_DEFAULT: the seccomp check is skipped (set FIXMINE_SECCOMP_PROFILE)"
fi
log "passed"
