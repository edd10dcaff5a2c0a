#!/usr/bin/env bash
# Performance figures of the web panel's flagged review (a benchmark, not a test: it prints
# figures and asserts nothing about time). Starts a real faceid-server on a fresh database of
# $DATABASE_URL's cluster (tests/support/server.sh), seeds 1,000 flagged punches of 50 employees
# by SQL, then drives Debian's Chromium (backend/web/scripts/perf-review.mjs): the time from
# opening /review until the first card can be approved, and the frame timing (sampled every
# animation frame) while the window scrolls through every card of the virtualised list.
#   DATABASE_URL=postgres://… bash tests/perf/web-review.sh [events=1000]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
[ -n "${DATABASE_URL:-}" ] || { echo "error: DATABASE_URL is not set (see tests/support/postgres.sh)" >&2; exit 1; }
source tests/support/postgres.sh
source tests/support/server.sh
count=${1:-1000}
start_suite_server perfreview
psql_bin=$(command -v psql || echo "$(pg_bindir)/psql")
# Flagged punches inserted by SQL: their chain hashes are placeholders (the chain check of this
# database fails, which the benchmark does not look at); no evidence photos.
"$psql_bin" -q "$SUITE_DATABASE_URL" <<SQL
INSERT INTO employees (id, login, password_hash, first_name, last_name, role)
  SELECT gen_random_uuid(), 'review.' || n, 'x', 'Flagged', 'Reviewov' || n, 'user'
  FROM generate_series(1, 50) n;
INSERT INTO attendance_events (public_id, employee_id, kind, occurred_at, verdict, reasons,
                               lat, lon, accuracy_m, distance_m, prev_hash, hash)
  SELECT gen_random_uuid(),
         (SELECT id FROM employees WHERE login = 'review.' || (1 + n % 50)),
         CASE WHEN n % 2 = 0 THEN 'in' ELSE 'out' END,
         now() - make_interval(mins => n * 7),
         'flagged',
         CASE WHEN n % 3 = 0 THEN ARRAY['outside_geofence', 'challenge_failed'] ELSE ARRAY['outside_geofence'] END,
         38.56 + n * 0.0001, 68.77 + n * 0.0001, 12, 350 + n,
         decode(repeat('00', 32), 'hex'), sha256(('perf-review-' || n)::bytea)
  FROM generate_series(1, $count) n;
ANALYZE attendance_events;
SQL
echo "seeded $count flagged punches" >&2
cd backend/web
FACEID_E2E_URL=$SUITE_SERVER_URL FACEID_E2E_ADMIN=$SUITE_ADMIN_LOGIN FACEID_E2E_PASSWORD=$SUITE_ADMIN_PASSWORD \
  CHROMIUM_PATH=${CHROMIUM_PATH:-/usr/lib/chromium/chromium} PERF_EVENTS=$count \
  node scripts/perf-review.mjs
