#!/bin/bash
# Prosody's entrypoint (docs/deploy.md "Docker"):
#  1. a self-signed certificate for XMPP_DOMAIN on first start, unless one is mounted at
#     /etc/prosody/public/<XMPP_DOMAIN>.crt with its key at /var/lib/prosody/tls/<XMPP_DOMAIN>.key;
#     the certificate (never the key) is in the volume tlim mounts to check J-IM passwords with it;
#  2. the accounts in XMPP_USERS ("alice:password bob:password"), created if missing;
#  3. exec prosody in the foreground.
set -euo pipefail

: "${XMPP_DOMAIN:?XMPP_DOMAIN (the users' domain) is not set}"
: "${TLIM_DOMAIN:?TLIM_DOMAIN (tlim's component domain) is not set}"
: "${TLIM_XMPP_SECRET:?TLIM_XMPP_SECRET (the component secret) is not set}"

crt="/etc/prosody/public/$XMPP_DOMAIN.crt"
key="/var/lib/prosody/tls/$XMPP_DOMAIN.key"
if [ ! -s "$crt" ] || [ ! -s "$key" ]; then
  echo "prosody-entrypoint: generating a self-signed certificate for $XMPP_DOMAIN"
  umask 077
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$XMPP_DOMAIN" \
    -addext "subjectAltName=DNS:$XMPP_DOMAIN" -keyout "$key" -out "$crt.tmp" 2>/dev/null
  chmod 0644 "$crt.tmp"
  mv "$crt.tmp" "$crt"
  umask 022
fi

for entry in ${XMPP_USERS:-}; do
  user=${entry%%:*}
  password=${entry#*:}
  if [ -z "$user" ] || [ "$user" = "$entry" ] || [ -z "$password" ]; then
    echo "prosody-entrypoint: XMPP_USERS: '$user…' is not user:password" >&2
    exit 2
  fi
  # prosodyctl register refuses an existing account ("That user already exists"): keep it as is.
  if out=$(prosodyctl register "$user" "$XMPP_DOMAIN" "$password" 2>&1); then
    echo "prosody-entrypoint: created $user@$XMPP_DOMAIN"
  elif grep -q "already exists" <<<"$out"; then
    echo "prosody-entrypoint: $user@$XMPP_DOMAIN exists"
  else
    echo "prosody-entrypoint: could not create $user@$XMPP_DOMAIN: $out" >&2
    exit 1
  fi
done

exec prosody -F
