#!/usr/bin/env bash
# Performance figures of the web panel's Employees page on a 10,000-employee database (a
# benchmark, not a test: it prints figures and asserts nothing about time). Starts a real
# faceid-server on a fresh database of $DATABASE_URL's cluster (tests/support/server.sh), seeds
# 10,000 employees by SQL, then drives Debian's Chromium (backend/web/scripts/perf-employees.mjs):
# the page's first load until the first rows show, and searches typed into the Search field until
# the matching rows show (each includes the panel's 250 ms debounce).
#   DATABASE_URL=postgres://… bash tests/perf/web-employees.sh [employees=10000] [searches=5]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
[ -n "${DATABASE_URL:-}" ] || { echo "error: DATABASE_URL is not set (see tests/support/postgres.sh)" >&2; exit 1; }
source tests/support/postgres.sh
source tests/support/server.sh
count=${1:-10000}
searches=${2:-5}
start_suite_server perf
psql_bin=$(command -v psql || echo "$(pg_bindir)/psql")
seeded=$(date +%s%N)
# Password hashes are not needed: nobody signs in as these people.
"$psql_bin" -q "$SUITE_DATABASE_URL" <<SQL
INSERT INTO departments (id, name)
  SELECT gen_random_uuid(), 'Perf department ' || d FROM generate_series(1, 20) d;
INSERT INTO employees (id, login, password_hash, first_name, last_name, role, department_id)
  SELECT gen_random_uuid(), 'perf.' || n, 'x',
         (ARRAY['Anvar','Dilnoza','Farrukh','Gulnora','Jamshed','Madina','Rustam','Shahlo','Timur','Zarina'])[1 + n % 10],
         'Perfov' || n,
         'user',
         (SELECT id FROM departments WHERE name = 'Perf department ' || (1 + n % 20))
  FROM generate_series(1, $count) n;
ANALYZE employees;
SQL
echo "seeded $count employees in $(( ($(date +%s%N) - seeded) / 1000000 )) ms" >&2
cd backend/web
FACEID_E2E_URL=$SUITE_SERVER_URL FACEID_E2E_ADMIN=$SUITE_ADMIN_LOGIN FACEID_E2E_PASSWORD=$SUITE_ADMIN_PASSWORD \
  CHROMIUM_PATH=${CHROMIUM_PATH:-/usr/lib/chromium/chromium} PERF_EMPLOYEES=$count PERF_SEARCHES=$searches \
  node scripts/perf-employees.mjs
