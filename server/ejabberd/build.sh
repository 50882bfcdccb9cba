#!/usr/bin/env bash
# Compiles mod_tlim.erl into server/ejabberd/mod_tlim/ebin/mod_tlim.beam against the installed
# ejabberd's headers (docs/ejabberd-module.md). Needs erlc of the Erlang/OTP release ejabberd runs
# on (or an older one).
#
# The headers are looked for where Debian/Ubuntu, the ejabberd installers and source builds put
# them; set them explicitly when they are elsewhere:
#   EJABBERD_INCLUDE=<dir holding logger.hrl>   XMPP_INCLUDE=<dir holding xmpp.hrl>
#   EJABBERD_EBIN=<dir holding gen_mod.beam>    (only to check the gen_mod behaviour)
#   OUT_DIR=<where the .beam goes>              (default: mod_tlim/ebin/ next to this script)
#
# Not server/ejabberd/ebin: a code path entry <dir>/ejabberd/ebin makes Erlang take <dir>/ejabberd
# for ejabberd's own application directory (code:lib_dir/1, code:priv_dir/1), and ejabberd then
# looks for its translations, SQL schemas and web files under it. mod_tlim/ebin is also the layout
# of an installed contributed module ($CONTRIB_MODULES_PATH/mod_tlim/ebin).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${OUT_DIR:-$here/mod_tlim/ebin}"

if ! command -v erlc >/dev/null 2>&1; then
  echo "build.sh: erlc not found: install Erlang/OTP (Debian/Ubuntu: erlc is in the erlang-base package, which ejabberd itself depends on)" >&2
  exit 127
fi

# The first existing directory among the arguments (globs expanded by the caller).
first_dir() {
  local d
  for d in "$@"; do
    if [ -d "$d" ]; then
      echo "$d"
      return 0
    fi
  done
  return 1
}

ejabberd_include="${EJABBERD_INCLUDE:-$(first_dir \
  /usr/lib/*/ejabberd-*/include /usr/lib/erlang/lib/ejabberd-*/include \
  /opt/ejabberd-*/lib/ejabberd-*/include /usr/local/lib/ejabberd/include \
  /usr/local/lib/erlang/lib/ejabberd-*/include || true)}"
xmpp_include="${XMPP_INCLUDE:-$(first_dir \
  /usr/lib/erlang/lib/p1_xmpp-*/include /usr/lib/erlang/lib/xmpp-*/include \
  /opt/ejabberd-*/lib/xmpp-*/include /usr/local/lib/erlang/lib/xmpp-*/include \
  /usr/local/lib/ejabberd/deps/xmpp/include || true)}"
ejabberd_ebin="${EJABBERD_EBIN:-$(first_dir "${ejabberd_include%/include}/ebin" || true)}"

if [ -z "$ejabberd_include" ] || [ ! -f "$ejabberd_include/logger.hrl" ]; then
  echo "build.sh: ejabberd's headers (logger.hrl) not found; set EJABBERD_INCLUDE (got '${ejabberd_include}')" >&2
  exit 1
fi
if [ -z "$xmpp_include" ] || [ ! -f "$xmpp_include/xmpp.hrl" ]; then
  echo "build.sh: the xmpp library's headers (xmpp.hrl) not found; set XMPP_INCLUDE (got '${xmpp_include}')" >&2
  exit 1
fi

mkdir -p "$out"
# Compiled aside, then renamed into place: a running ejabberd (or a second build) never sees a
# half-written .beam.
tmp="$(mktemp -d "$out/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
args=(-o "$tmp" -I "$ejabberd_include" -I "$xmpp_include" +debug_info +warnings_as_errors)
# With ejabberd's ebin on the path erlc checks the gen_mod callbacks.
if [ -n "$ejabberd_ebin" ]; then args+=(-pa "$ejabberd_ebin"); fi
erlc "${args[@]}" "$here/mod_tlim.erl"
chmod 644 "$tmp/mod_tlim.beam"
mv -f "$tmp/mod_tlim.beam" "$out/mod_tlim.beam"
echo "built $out/mod_tlim.beam"
