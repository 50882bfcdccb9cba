#!/bin/bash
# MariaDB's entrypoint (docs/deploy.md "Docker"): on the first start (an empty data volume) create
# the system tables, set the root password, and create MARIADB_DATABASE and MARIADB_USER with all
# rights on it, and 'mysql'@'localhost' (unix socket, no rights) for the health check; then exec
# mariadbd. Later starts only exec mariadbd: changing the variables then
# changes nothing (as with the official image).
set -euo pipefail

datadir=/var/lib/mysql
if [ ! -d "$datadir/mysql" ]; then
  : "${MARIADB_ROOT_PASSWORD:?MARIADB_ROOT_PASSWORD is not set}"
  : "${MARIADB_DATABASE:?MARIADB_DATABASE is not set}"
  : "${MARIADB_USER:?MARIADB_USER is not set}"
  : "${MARIADB_PASSWORD:?MARIADB_PASSWORD is not set}"
  sql_string() { local s=${1//\\/\\\\}; printf "'%s'" "${s//\'/\'\'}"; }
  sql_name() { printf '`%s`' "${1//\`/\`\`}"; }
  echo "mariadb-entrypoint: initialising $datadir"
  mariadb-install-db --datadir="$datadir" --skip-test-db --auth-root-authentication-method=normal >/dev/null
  if ! mariadbd --datadir="$datadir" --bootstrap --skip-networking --log-error=/tmp/bootstrap.err <<SQL
DELETE FROM mysql.global_priv WHERE User = '' OR Host <> 'localhost';
DELETE FROM mysql.proxies_priv WHERE Host <> 'localhost';
FLUSH PRIVILEGES;
CREATE USER 'mysql'@'localhost' IDENTIFIED VIA unix_socket;
ALTER USER 'root'@'localhost' IDENTIFIED BY $(sql_string "$MARIADB_ROOT_PASSWORD");
CREATE DATABASE IF NOT EXISTS $(sql_name "$MARIADB_DATABASE") CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
CREATE USER $(sql_string "$MARIADB_USER")@'%' IDENTIFIED BY $(sql_string "$MARIADB_PASSWORD");
GRANT ALL PRIVILEGES ON $(sql_name "$MARIADB_DATABASE").* TO $(sql_string "$MARIADB_USER")@'%';
SQL
  then
    cat /tmp/bootstrap.err >&2
    echo "mariadb-entrypoint: initialisation failed; empty the volume before the next start" >&2
    exit 1
  fi
  echo "mariadb-entrypoint: database $MARIADB_DATABASE and user $MARIADB_USER created"
fi

exec mariadbd --datadir="$datadir" "$@"
