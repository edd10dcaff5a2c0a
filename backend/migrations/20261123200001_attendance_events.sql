-- Attendance events: append-only and hash-chained (ARCHITECTURE §6).
--
-- A punch (`in` / `out`) is stored with the server's verdict. An admin's review of a flagged
-- punch and a manual correction are new rows that reference the original (`refers_to`);
-- nothing is ever updated or deleted. `id` is the chain position: each row stores the hash
-- of the previous row (`prev_hash`, 32 zero bytes for the first) and the hash of its own
-- canonical form (`hash`), computed by the server under a lock so the chain has no forks.
CREATE TABLE attendance_events (
    id               bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
    public_id        uuid NOT NULL UNIQUE,
    employee_id      uuid NOT NULL REFERENCES employees (id) ON DELETE RESTRICT,
    device_id        uuid REFERENCES devices (id) ON DELETE SET NULL,
    site_id          uuid REFERENCES sites (id) ON DELETE SET NULL,
    -- in / out: a punch. review: accept or reject of a flagged punch (`decision`).
    -- correction: a punch entered by an admin that replaces `refers_to` (or adds a missing one).
    kind             text NOT NULL CHECK (kind IN ('in', 'out', 'review', 'correction')),
    -- For corrections, the punch direction being entered.
    punch_kind       text CHECK (punch_kind IN ('in', 'out')),
    -- The moment the punch counts for: the device's time when the offline delay is plausible,
    -- the server's time otherwise.
    occurred_at      timestamptz NOT NULL,
    received_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    verdict          text NOT NULL CHECK (verdict IN ('verified', 'flagged', 'rejected')),
    reasons          text[] NOT NULL DEFAULT '{}',
    decision         text CHECK (decision IN ('accept', 'reject')),
    comment          text,
    refers_to        bigint REFERENCES attendance_events (id),
    actor_id         uuid REFERENCES employees (id) ON DELETE SET NULL,
    idempotency_key  uuid,
    request_hash     bytea,
    response         jsonb,
    -- Evidence as measured by the server.
    lat              double precision,
    lon              double precision,
    accuracy_m       double precision,
    distance_m       double precision,
    face_distance    real,
    liveness_score   real,
    photo_key        text,
    prev_hash        bytea NOT NULL,
    hash             bytea NOT NULL UNIQUE,
    CHECK ((kind = 'review') = (decision IS NOT NULL)),
    CHECK (kind NOT IN ('review') OR refers_to IS NOT NULL),
    CHECK ((kind = 'correction') = (punch_kind IS NOT NULL))
);
CREATE UNIQUE INDEX attendance_events_idempotency_key
    ON attendance_events (employee_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX attendance_events_employee_time_idx ON attendance_events (employee_id, occurred_at);
CREATE INDEX attendance_events_site_time_idx ON attendance_events (site_id, occurred_at);
CREATE INDEX attendance_events_refers_to_idx ON attendance_events (refers_to) WHERE refers_to IS NOT NULL;

-- The punches as the timesheet sees them: one row per punch (`in`/`out` or correction),
-- with the status after reviews and corrections. This view is the contract between the
-- attendance module (which writes events) and the timesheet (which only reads this).
--   status: verified | flagged_pending | flagged_accepted | flagged_rejected | rejected | superseded
CREATE VIEW attendance_punches AS
SELECT e.id,
       e.employee_id,
       e.site_id,
       COALESCE(e.punch_kind, e.kind) AS kind,
       e.occurred_at AS at,
       CASE
           WHEN EXISTS (SELECT 1 FROM attendance_events c
                        WHERE c.kind = 'correction' AND c.refers_to = e.id) THEN 'superseded'
           WHEN e.verdict = 'verified' THEN 'verified'
           WHEN e.verdict = 'rejected' THEN 'rejected'
           ELSE COALESCE(
               (SELECT CASE r.decision WHEN 'accept' THEN 'flagged_accepted'
                                       ELSE 'flagged_rejected' END
                FROM attendance_events r
                WHERE r.kind = 'review' AND r.refers_to = e.id
                ORDER BY r.id DESC LIMIT 1),
               'flagged_pending')
       END AS status
FROM attendance_events e
WHERE e.kind IN ('in', 'out', 'correction');

-- Attendance policy: the global one (scope 'global') and per-site overrides (scope = site id).
CREATE TABLE attendance_policies (
    scope       text PRIMARY KEY,
    policy      jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
