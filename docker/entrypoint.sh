#!/bin/sh
# tlim's container entrypoint (docs/deploy.md "Docker").
#   start (the default): `tlim migrate`, retried while the database is not reachable yet (up to
#     TLIM_DB_WAIT_S seconds, default 60), then `exec tlim start`, so tlim is PID 1 and gets
#     SIGTERM from `docker stop` directly. TLIM_MIGRATE_ON_START=0 skips the migration (a DBA
#     creates the schema from sql/; tlim then refuses to start while migrations are pending).
#   anything else: passed to tlim (`docker run … tlim migrate --print`, `… tlim --help`).
set -eu

if [ "${1:-start}" != "start" ]; then
  exec tlim "$@"
fi

case "${TLIM_MIGRATE_ON_START:-1}" in
  0|false|no|off) ;;
  *)
    wait_s=${TLIM_DB_WAIT_S:-60}
    deadline=$(( $(date +%s) + wait_s ))
    while :; do
      rc=0
      tlim migrate || rc=$?
      [ "$rc" -eq 0 ] && break
      # 2: the configuration is invalid (tlim printed every problem); waiting will not fix it.
      [ "$rc" -eq 2 ] && exit 2
      if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "tlim-entrypoint: tlim migrate still failing after ${wait_s}s (TLIM_DB_WAIT_S); giving up" >&2
        exit "$rc"
      fi
      echo "tlim-entrypoint: tlim migrate failed (exit $rc); the database may still be starting, retrying in 2s" >&2
      sleep 2
    done
    ;;
esac

exec tlim "$@"
