-- iiko (backend/src/iiko, docs/iiko.md): the one iikoServer connection, the links between
-- iiko's employees and roles and ours, and the log of every run.

-- One row at most (`id` is always true).
CREATE TABLE iiko_connection (
    id                boolean PRIMARY KEY DEFAULT true CHECK (id),
    server_url        text NOT NULL,
    login             text NOT NULL,
    -- AES-256-GCM with the descriptor key; never answered.
    password_ct       bytea NOT NULL,
    password_nonce    bytea NOT NULL,
    -- Only employees of these departments are imported (empty: all).
    department_codes  text[] NOT NULL DEFAULT '{}',
    sync_employees    boolean NOT NULL DEFAULT true,
    sync_schedules    boolean NOT NULL DEFAULT false,
    sync_attendance   boolean NOT NULL DEFAULT false,
    interval_s        integer NOT NULL CHECK (interval_s BETWEEN 300 AND 86400),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- An iiko role imported as one of our positions.
CREATE TABLE iiko_positions (
    iiko_id      text PRIMARY KEY,
    code         text NOT NULL,
    position_id  uuid NOT NULL UNIQUE REFERENCES positions (id) ON DELETE CASCADE,
    synced_at    timestamptz NOT NULL DEFAULT now()
);

-- An iiko employee linked to one of ours.
CREATE TABLE iiko_employees (
    iiko_id       text PRIMARY KEY,
    employee_id   uuid NOT NULL UNIQUE REFERENCES employees (id) ON DELETE CASCADE,
    code          text,
    -- Created by the import without a password: an administrator should look at them.
    needs_review  boolean NOT NULL DEFAULT false,
    -- Deleted in iiko or gone from its list: dismissed here only when an administrator
    -- confirms.
    gone_since    timestamptz,
    synced_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX iiko_employees_gone_idx ON iiko_employees (gone_since) WHERE gone_since IS NOT NULL;

-- Every run (a connection test, an import, a dry run), for administrators.
CREATE TABLE iiko_runs (
    id           bigserial PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('test', 'import', 'schedules', 'export')),
    dry_run      boolean NOT NULL DEFAULT false,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    ok           boolean NOT NULL DEFAULT false,
    error_code   text,
    error        text,
    created      integer NOT NULL DEFAULT 0,
    updated      integer NOT NULL DEFAULT 0,
    skipped      integer NOT NULL DEFAULT 0,
    conflicts    integer NOT NULL DEFAULT 0,
    errors       integer NOT NULL DEFAULT 0,
    -- Per-record problems and changes: [{"iiko_id", "kind", "detail"}].
    problems     jsonb NOT NULL DEFAULT '[]'
);
CREATE INDEX iiko_runs_started_idx ON iiko_runs (id DESC);

-- Attendance exported to iiko: one record per work interval, keyed by the interval's check-in
-- punch (`attendance_events.id`). iiko gives a record a new id on every update: `iiko_id` is
-- always the latest one.
CREATE TABLE iiko_attendance (
    in_punch_id  bigint PRIMARY KEY,
    employee_id  uuid NOT NULL REFERENCES employees (id) ON DELETE CASCADE,
    iiko_id      text NOT NULL,
    -- As sent (rounded down to the minute).
    date_from    timestamptz NOT NULL,
    date_to      timestamptz NOT NULL,
    exported_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX iiko_attendance_employee_idx ON iiko_attendance (employee_id, date_from);

-- The roster schedule holding an employee's iiko shifts (one per employee).
CREATE TABLE iiko_schedules (
    employee_id  uuid PRIMARY KEY REFERENCES employees (id) ON DELETE CASCADE,
    schedule_id  uuid NOT NULL UNIQUE REFERENCES schedules (id) ON DELETE CASCADE
);
