#!/usr/bin/env bash
# docker/test.sh (npm run test:docker): proves the Docker set-up end to end (docs/deploy.md
# "Testing the Docker set-up").
#
#  1. a Docker daemon: the one DOCKER_HOST (or the default socket) names if it answers; otherwise
#     one of its own (dockerd, vfs storage, no iptables), stopped again at the end;
#  2. base images: debian:bookworm-slim and node:20-bookworm-slim are pulled, or, where no registry
#     can be reached, replaced by local stand-ins with the same names (debootstrap + this
#     machine's Node.js: docker/standins/);
#  3. builds tlim:local (docker/Dockerfile), tlim-prosody:local and tlim-mariadb:local;
#  4. `docker-compose up -d` with throwaway secrets and free ports, and waits until every
#     container is healthy (tlim's /healthz: XMPP link up, database up);
#  5. two Prosody users log in on the published client port, one sends a tlim envelope to the
#     other through Prosody and tlim, the other receives and acknowledges it, the sender gets
#     tlim's receipt (docker/xmpp-check.py);
#  6. reads the message back over the published HTTP API (findChatHistory, Authorization header),
#     checks that secret= in the URL is refused;
#  7. bob logs in on the published J-IM port (WebSocket) with his XMPP password, which tlim checks
#     on Prosody's client port over verified TLS; a wrong password is refused;
#  8. `docker-compose down -v`, and prints image sizes and timings.
# Any failure: a message saying which step, the containers' logs, exit status 1.
#
# Cache (TLIM_DOCKER_CACHE, default ~/.cache/tlim-docker): the daemon's data (images and build
# cache, so a second run builds nothing that did not change), the stand-in base root file system
# (debian-bookworm-slim.tar), and the daemon's log. Remove the directory to start cold.
# Needs root when it starts its own daemon; dockerd, docker, docker-compose (or `docker compose`),
# debootstrap (only for the stand-ins), node 20 (J-IM check) and /usr/bin/python3 with slixmpp (Debian:
# apt-get install docker.io docker-compose debootstrap python3-slixmpp).
# TLIM_DOCKER_KEEP=1 leaves the compose project up (and the daemon running) for a look, also
# after a failure.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
CACHE=${TLIM_DOCKER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tlim-docker}
PROJECT=tlimdockertest
PYTHON=${TLIM_DOCKER_PYTHON:-/usr/bin/python3}
KEEP=${TLIM_DOCKER_KEEP:-0}
mkdir -p "$CACHE"
WORK=$(mktemp -d)

T_START=$SECONDS
T_LAST=$SECONDS
TIMES=()
CURRENT="setting up"
OWN_DAEMON=0
COMPOSE_UP=0

step() {
  local now=$SECONDS
  if [ "$CURRENT" != "setting up" ]; then TIMES+=("$(printf '%-44s %4ss' "$CURRENT" $((now - T_LAST)))"); fi
  T_LAST=$now
  CURRENT=$1
  printf '\n== %s\n' "$1"
}

compose() { "${COMPOSE[@]}" -p "$PROJECT" -f "$HERE/docker-compose.yml" --env-file "$WORK/test.env" "$@"; }

fail() {
  echo >&2
  echo "docker/test.sh: FAILED at \"$CURRENT\": $*" >&2
  if [ "$COMPOSE_UP" = 1 ]; then
    echo "--- container states" >&2
    compose ps >&2 || true
    echo "--- last log lines of each service" >&2
    for s in mariadb prosody tlim; do compose logs --no-color --tail=40 "$s" >&2 || true; done
  fi
  exit 1
}

cleanup() {
  local rc=$?
  set +e
  if [ "$KEEP" = 1 ]; then
    echo "TLIM_DOCKER_KEEP=1: project $PROJECT left up; env file $WORK/test.env; DOCKER_HOST=${DOCKER_HOST:-}"
    return
  fi
  if [ "$COMPOSE_UP" = 1 ]; then
    echo "== tearing down (docker-compose down -v)"
    compose down -v --remove-orphans >/dev/null 2>&1 || echo "docker/test.sh: docker-compose down failed" >&2
  fi
  # Images replaced by this run's builds take a full copy per layer with vfs storage.
  docker image prune -f >/dev/null 2>&1
  if [ "$OWN_DAEMON" = 1 ]; then
    local pid
    pid=$(cat "$CACHE/dockerd.pid" 2>/dev/null)
    if [ -n "$pid" ]; then
      kill "$pid" 2>/dev/null
      for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    fi
    # dockerd leaves these mounts behind when it exits.
    umount "$CACHE/data" 2>/dev/null
    umount "/tmp/tlim-dockerd.$(id -u)/netns/default" 2>/dev/null
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'fail "interrupted"' INT TERM

# --- 1. the daemon -------------------------------------------------------------------------------
step "Docker daemon"
command -v docker >/dev/null || fail "no docker CLI (apt-get install docker.io)"
if docker compose version >/dev/null 2>&1; then
  COMPOSE=(docker compose)
elif command -v docker-compose >/dev/null; then
  COMPOSE=(docker-compose)
else
  fail "neither \`docker compose\` nor docker-compose (apt-get install docker-compose)"
fi
if DOCKER_HOST=${DOCKER_HOST:-} docker info >/dev/null 2>&1; then
  echo "using the daemon at ${DOCKER_HOST:-the default socket}"
else
  command -v dockerd >/dev/null || fail "no Docker daemon answers and there is no dockerd to start (apt-get install docker.io)"
  [ "$(id -u)" = 0 ] || fail "no Docker daemon answers; starting one needs root"
  export DOCKER_HOST="unix://$CACHE/docker.sock"
  mkdir -p "$CACHE/data"
  # The exec root holds unix sockets: keep its path short.
  exec_root=/tmp/tlim-dockerd.$(id -u)
  mkdir -p "$exec_root"
  old_pid=$(cat "$CACHE/dockerd.pid" 2>/dev/null || true)
  if [ -n "$old_pid" ] && kill -0 "$old_pid" 2>/dev/null; then
    fail "a dockerd on $CACHE (pid $old_pid) runs but does not answer: another run of this script? (it is stopping, or stop it)"
  fi
  echo "starting dockerd (vfs storage, data in $CACHE/data, log $CACHE/dockerd.log)"
  dockerd --storage-driver=vfs --iptables=false --ip6tables=false --bridge=none \
    --data-root="$CACHE/data" --exec-root="$exec_root" -H "$DOCKER_HOST" \
    --pidfile="$CACHE/dockerd.pid" >>"$CACHE/dockerd.log" 2>&1 &
  OWN_DAEMON=1
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || fail "dockerd did not come up; see $CACHE/dockerd.log"
fi
# The classic builder: what docker-compose v1 uses too, and it needs no BuildKit image.
export DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0

# --- 2. base images ------------------------------------------------------------------------------
step "base images"
have_image() { docker image inspect "$1" >/dev/null 2>&1; }

debian_standin() {
  local tar="$CACHE/debian-bookworm-slim.tar"
  if [ ! -s "$tar" ]; then
    command -v debootstrap >/dev/null || fail "debian:bookworm-slim cannot be pulled and there is no debootstrap to make a stand-in (apt-get install debootstrap)"
    local rootfs="$CACHE/rootfs"
    if [ ! -e "$rootfs/.tlim-debootstrap-ok" ]; then
      rm -rf "$rootfs"
      echo "debootstrap --variant=minbase bookworm (about 2 minutes, once)"
      debootstrap --variant=minbase bookworm "$rootfs" >"$CACHE/debootstrap.log" 2>&1 ||
        fail "debootstrap failed; see $CACHE/debootstrap.log"
      touch "$rootfs/.tlim-debootstrap-ok"
    fi
    # As the official slim image: no documentation, no apt caches, the updates and security suites.
    cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
    cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
    printf 'APT::Install-Recommends "false";\n' >"$rootfs/etc/apt/apt.conf.d/docker-no-recommends"
    rm -f "$rootfs/etc/apt/sources.list"
    cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
      "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/var/log/*.log
    find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
    rm -f "$rootfs/.tlim-debootstrap-ok"
    tar -C "$rootfs" -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
    rm -rf "$rootfs"
  fi
  docker import -c 'CMD ["bash"]' "$tar" debian:bookworm-slim >/dev/null
}

node_standin() {
  local ctx="$WORK/node-standin" node
  node=$(command -v node) || fail "node:20-bookworm-slim cannot be pulled and there is no node here to make a stand-in"
  node=$(readlink -f "$node")
  local prefix npm include
  prefix=$(dirname "$(dirname "$node")")
  npm="$prefix/lib/node_modules/npm"
  include="$prefix/include/node"
  [ -d "$npm" ] || fail "npm is not at $npm (next to $node)"
  [ -f "$include/node.h" ] || fail "Node's headers are not at $include (node-gyp needs them to build better-sqlite3)"
  case "$("$node" --version)" in v20.*) ;; *) fail "the stand-in for node:20-bookworm-slim needs Node 20 here, not $("$node" --version)" ;; esac
  mkdir -p "$ctx"
  cp "$node" "$ctx/node"
  cp -a "$npm" "$ctx/npm"
  cp -a "$include" "$ctx/include"
  cp /etc/ssl/certs/ca-certificates.crt "$ctx/ca-certificates.crt"
  docker build --network host -t node:20-bookworm-slim -f "$HERE/standins/node.Dockerfile" "$ctx" \
    >"$WORK/build-node-standin.log" 2>&1 || { tail -20 "$WORK/build-node-standin.log" >&2; fail "building the node:20-bookworm-slim stand-in"; }
}

for image in debian:bookworm-slim node:20-bookworm-slim; do
  if have_image "$image"; then
    echo "$image: present"
  elif timeout 60 docker pull -q "$image" >/dev/null 2>&1; then
    echo "$image: pulled"
  else
    echo "$image: cannot be pulled, building a local stand-in"
    case "$image" in
      debian:*) debian_standin ;;
      node:*) have_image debian:bookworm-slim || debian_standin; node_standin ;;
    esac
  fi
done

# --- 3. build ------------------------------------------------------------------------------------
step "build images"
# --network host: RUN steps reach Debian's mirror and the npm registry even without a bridge.
build() {
  local tag=$1; shift
  echo "docker build $tag"
  docker build --network host -t "$tag" "$@" >"$WORK/build-${tag%%:*}.log" 2>&1 || {
    tail -40 "$WORK/build-${tag%%:*}.log" >&2
    fail "docker build $tag"
  }
}
build tlim-mariadb:local "$HERE/mariadb"
build tlim-prosody:local "$HERE/prosody"
# The build stage gets a tag of its own: the image prune at the end then keeps it (and with it
# the compiled dependencies) for the next run.
build tlim-build:cache --target build -f "$HERE/Dockerfile" "$ROOT"
build tlim:local -f "$HERE/Dockerfile" "$ROOT"

# --- 4. compose up -------------------------------------------------------------------------------
step "docker-compose up, until healthy"
free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
secret() { "$PYTHON" -c 'import secrets; print(secrets.token_hex(16))'; }
C2S_PORT=$(free_port); HTTP_PORT=$(free_port); JIM_PORT=$(free_port)
API_SECRET=$(secret)
ALICE_PW=$(secret); BOB_PW=$(secret)
cat >"$WORK/test.env" <<EOF
XMPP_DOMAIN=example.com
TLIM_DOMAIN=tlim.example.com
TLIM_XMPP_SECRET=$(secret)
TLIM_API_SECRET=$API_SECRET
MARIADB_ROOT_PASSWORD=$(secret)
MARIADB_PASSWORD=$(secret)
XMPP_USERS=alice:$ALICE_PW bob:$BOB_PW
PUBLISH_ADDRESS=127.0.0.1
PUBLISH_C2S_PORT=$C2S_PORT
PUBLISH_HTTP_PORT=$HTTP_PORT
PUBLISH_JIM_PORT=$JIM_PORT
EOF
compose down -v --remove-orphans >/dev/null 2>&1 || true # leftovers of an interrupted run
COMPOSE_UP=1
compose up -d --no-build >"$WORK/up.log" 2>&1 || { cat "$WORK/up.log" >&2; fail "docker-compose up"; }
health() { docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$(compose ps -q "$1")" 2>/dev/null || echo missing; }
deadline=$((SECONDS + ${TLIM_DOCKER_HEALTH_TIMEOUT_S:-240}))
while :; do
  states="mariadb=$(health mariadb) prosody=$(health prosody) tlim=$(health tlim)"
  case "$states" in *mariadb=healthy*prosody=healthy*tlim=healthy*) break ;; esac
  case "$states" in *unhealthy*|*exited*|*dead*) fail "a container failed: $states" ;; esac
  [ $SECONDS -lt $deadline ] || fail "not healthy after ${TLIM_DOCKER_HEALTH_TIMEOUT_S:-240}s: $states"
  sleep 2
done
echo "healthy: $states"
for s in mariadb prosody tlim; do
  user=$(docker inspect -f '{{.Config.User}}' "$(compose ps -q "$s")")
  case "$user" in ""|root|0|0:*) fail "$s runs as root" ;; esac
  echo "$s runs as $user"
done

# --- 5. a message through Prosody and tlim -------------------------------------------------------
step "XMPP: alice -> bob through Prosody and tlim"
compose exec -T prosody cat /etc/prosody/public/example.com.crt >"$WORK/xmpp-ca.pem" ||
  fail "reading Prosody's certificate"
MSG_ID="docker-test-$(secret)"
TEXT="hello from docker/test.sh ✓ $(date -u +%H:%M:%S)"
check_cfg=$("$PYTHON" -c 'import json,sys; a=sys.argv; print(json.dumps({"host":"127.0.0.1","port":int(a[1]),"ca":a[2],
  "domain":"example.com","component":"tlim.example.com","sender":["alice",a[3]],"recipient":["bob",a[4]],
  "msg_id":a[5],"text":a[6],"timeout_s":30}))' "$C2S_PORT" "$WORK/xmpp-ca.pem" "$ALICE_PW" "$BOB_PW" "$MSG_ID" "$TEXT")
xmpp_out=$("$PYTHON" "$HERE/xmpp-check.py" "$check_cfg" 2>"$WORK/xmpp.err") || {
  cat "$WORK/xmpp.err" >&2
  fail "the XMPP exchange: $xmpp_out"
}
echo "$xmpp_out"
"$PYTHON" - "$xmpp_out" "$TEXT" <<'EOF' || fail "bob did not get alice's message as sent: $xmpp_out"
import json, sys
d = json.loads(sys.argv[1])["delivered"]
assert d["from"] == "alice@tlim.example.com", d
assert d["msg_type"] == "MTT-000" and d["msg_from"] == "alice" and d["text"] == sys.argv[2], d
EOF
echo "bob got it from alice@tlim.example.com, acknowledged it, and alice got tlim's receipt"

# --- 6. the HTTP API -----------------------------------------------------------------------------
step "HTTP: read it back"
API="http://127.0.0.1:$HTTP_PORT/plugins/tlim"
http() { "$PYTHON" - "$@" <<'EOF'
import sys, urllib.request, urllib.error
url, auth = sys.argv[1], sys.argv[2]
req = urllib.request.Request(url, headers={"Authorization": f"Bearer {auth}"} if auth else {})
try:
    with urllib.request.urlopen(req, timeout=10) as r:
        print(r.status); print(r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code); print(e.read().decode())
EOF
}
history=$(http "$API/findChatHistory?user_id=bob&session_id=alice&length=20" "$API_SECRET") ||
  fail "the HTTP API does not answer on 127.0.0.1:$HTTP_PORT"
"$PYTHON" - "$history" "$MSG_ID" "$TEXT" <<'EOF' || fail "findChatHistory does not hold the message: $history"
import json, sys
status, _, body = sys.argv[1].partition("\n")
assert status == "200", status
d = json.loads(body)
assert d["result"] == "ok", d
rows = [m for m in d["message_list"] if m["msg_id"] == sys.argv[2]]
assert len(rows) == 1, d
m = rows[0]
assert m["msg_from"] == "alice" and m["msg_to"] == "bob" and m["msg_type"] == "MTT-000", m
assert json.loads(m["body"])[0]["text"] == sys.argv[3], m
EOF
echo "findChatHistory (Authorization: Bearer …) returns it"
refused=$(http "$API/findChatHistory?user_id=bob&session_id=alice&secret=$API_SECRET" "")
[ "${refused%%$'\n'*}" = 401 ] || fail "secret= in the URL was not refused (TLIM_API_SECRET_IN_QUERY=0): $refused"
echo "secret= in the URL is refused (401)"
healthz=$(http "http://127.0.0.1:$HTTP_PORT/healthz" "")
[ "${healthz%%$'\n'*}" = 200 ] || fail "/healthz: $healthz"
echo "/healthz: ${healthz#*$'\n'}"

# --- 7. J-IM over WebSocket --------------------------------------------------------------------
step "J-IM: password logins checked on Prosody"
# A WebSocket login on the published J-IM port (docs/jim-gateway.md "WebSocket"): tlim checks the
# password on prosody:5222 over STARTTLS, verifying Prosody's certificate (TLIM_XMPP_C2S_CA).
jim_login() {
  node --experimental-websocket --no-warnings -e '
    const ws = new WebSocket(process.argv[1]);
    const t = setTimeout(() => { console.log("no answer in 20 s"); process.exit(1); }, 20000);
    ws.onmessage = (e) => { console.log(String(e.data)); clearTimeout(t); process.exit(0); };
    ws.onerror = () => { console.log("websocket error"); process.exit(1); };' \
    "ws://127.0.0.1:$JIM_PORT/?username=$1&password=$2"
}
jim_ok=$(jim_login bob "$BOB_PW") || fail "J-IM login: $jim_ok"
case "$jim_ok" in *'"code":10007'*) ;; *) fail "J-IM login with bob's password was not accepted: $jim_ok" ;; esac
echo "bob logs in over the J-IM WebSocket with his XMPP password (10007)"
jim_bad=$(jim_login bob "not-$BOB_PW") || fail "J-IM login: $jim_bad"
case "$jim_bad" in *'"code":10008'*) ;; *) fail "J-IM login with a wrong password was not refused: $jim_bad" ;; esac
echo "a wrong password is refused (10008)"
if compose logs --no-color tlim 2>/dev/null | grep -q "password check: TLS"; then
  fail "tlim logged a TLS failure of its password check"
fi

# --- 8. down, sizes, timings ---------------------------------------------------------------------
step "docker-compose down -v"
if [ "$KEEP" != 1 ]; then
  compose down -v --remove-orphans >/dev/null 2>&1 || fail "docker-compose down -v"
  COMPOSE_UP=0
fi
step "done"

echo
echo "image sizes:"
for image in tlim:local tlim-prosody:local tlim-mariadb:local node:20-bookworm-slim debian:bookworm-slim tlim-build:cache; do
  printf '  %-24s %s\n' "$image" "$(docker image ls --format '{{.Size}}' "$image" 2>/dev/null)"
done
echo "timings:"
printf '  %s\n' "${TIMES[@]}"
echo "  total $((SECONDS - T_START))s"
echo "docker/test.sh: OK"
