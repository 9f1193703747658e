#!/usr/bin/env bash
# Start the Debian PostgreSQL cluster (root only) and create the test role and database.
set -euo pipefail
ver=$(ls /usr/lib/postgresql | sort -V | tail -1)
if ! pg_lsclusters -h | grep -q "^$ver main"; then
  pg_createcluster "$ver" main >/dev/null
fi
pg_ctlcluster "$ver" main start 2>/dev/null || true
for _ in $(seq 1 30); do
  su postgres -c "pg_isready -q" && break
  sleep 1
done
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='qiangji'\"" | grep -q 1 \
  || su postgres -c "psql -qc \"CREATE ROLE qiangji LOGIN PASSWORD 'qiangji'\""
# parallel test workers create a database each
su postgres -c "psql -qc \"ALTER ROLE qiangji CREATEDB\""
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname='qiangji_test'\"" | grep -q 1 \
  || su postgres -c "createdb -O qiangji qiangji_test"
echo "PostgreSQL $ver ready"
