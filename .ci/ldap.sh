#!/usr/bin/env bash
# Start a throwaway OpenLDAP server (Debian's slapd) on 127.0.0.1:3389 for the directory
# login tests (tests/auth/test_ldap.py), loaded from tests/auth/ldap/court.ldif. Its own
# configuration and data live under $LDAP_DIR (default /tmp/qj-slapd); the system's slapd
# (/etc/ldap) is not touched. Idempotent: a server already answering is left as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${LDAP_DIR:-/tmp/qj-slapd}
url=ldap://127.0.0.1:3389
probe() {
  ldapsearch -x -LLL -H "$url" -D cn=qj-service,dc=court,dc=test -w svc-Secret-2026 \
    -b dc=court,dc=test -s base dn >/dev/null 2>&1
}
if probe; then
  echo "slapd already answering on $url"
  exit 0
fi
if [ -f "$dir/slapd.pid" ]; then
  kill "$(cat "$dir/slapd.pid")" 2>/dev/null || true
fi
rm -rf "$dir"
mkdir -p "$dir/data"
cat >"$dir/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile $dir/slapd.pid
argsfile $dir/slapd.args

database mdb
maxsize 16777216
suffix "dc=court,dc=test"
rootdn "cn=admin,dc=court,dc=test"
rootpw admin-Secret-2026
directory $dir/data
index objectClass,uid,member eq
access to attrs=userPassword
  by self write
  by anonymous auth
  by * none
access to *
  by dn.exact="cn=qj-service,dc=court,dc=test" read
  by self read
  by * none
CONF
slapadd -q -f "$dir/slapd.conf" -l tests/auth/ldap/court.ldif
slapd -f "$dir/slapd.conf" -h "$url/"
for _ in $(seq 1 30); do
  probe && break
  sleep 0.2
done
probe || { echo "slapd did not answer on $url" >&2; exit 1; }
echo "slapd ready on $url"
