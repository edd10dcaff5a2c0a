-- Data-subject rights and retention (backend/src/privacy): exports, erasure requests,
-- restrictions of processing, and the marks retention and erasure leave behind.

-- An evidence photo removed from the photo store (erasure or retention). `photo_key` is a
-- hashed field of the attendance chain, so the row keeps it unchanged and this column, which
-- is outside the chain, says the bytes are gone.
ALTER TABLE attendance_events ADD COLUMN photo_erased_at timestamptz;
CREATE INDEX attendance_events_photo_retention_idx ON attendance_events (occurred_at)
    WHERE photo_key IS NOT NULL AND photo_erased_at IS NULL;

-- A dismissed employee whose personal data was pseudonymised after the legal period.
ALTER TABLE employees ADD COLUMN pseudonymised_at timestamptz;

-- Exports of one employee's data: a ZIP written by the `privacy.export` job into
-- `data_dir/exports`, downloadable until `expires_at`, then removed by retention.
CREATE TABLE data_exports (
    id            uuid PRIMARY KEY,
    employee_id   uuid NOT NULL REFERENCES employees (id) ON DELETE CASCADE,
    requested_by  uuid REFERENCES employees (id) ON DELETE SET NULL,
    language      text NOT NULL CHECK (language IN ('ru', 'tg', 'en')),
    state         text NOT NULL DEFAULT 'queued'
                  CHECK (state IN ('queued', 'ready', 'failed', 'expired')),
    size_bytes    bigint,
    error         text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    expires_at    timestamptz
);
CREATE INDEX data_exports_employee_idx ON data_exports (employee_id, created_at DESC);
CREATE INDEX data_exports_expiry_idx ON data_exports (expires_at) WHERE state = 'ready';

-- Erasure requests: the employee asks, an administrator approves (the `privacy.erasure` job
-- runs the cascade and records its outcome) or refuses with a reason.
CREATE TABLE erasure_requests (
    id              uuid PRIMARY KEY,
    employee_id     uuid NOT NULL REFERENCES employees (id) ON DELETE CASCADE,
    scope           text NOT NULL CHECK (scope IN ('biometrics', 'locations', 'photos', 'everything')),
    state           text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'approved', 'done', 'refused')),
    comment         text,
    requested_at    timestamptz NOT NULL DEFAULT now(),
    decided_by      uuid REFERENCES employees (id) ON DELETE SET NULL,
    decided_at      timestamptz,
    refusal_reason  text,
    outcome         jsonb,
    finished_at     timestamptz,
    CHECK ((state = 'refused') = (refusal_reason IS NOT NULL))
);
-- One open request per employee and scope.
CREATE UNIQUE INDEX erasure_requests_open_key ON erasure_requests (employee_id, scope)
    WHERE state IN ('pending', 'approved');
CREATE INDEX erasure_requests_state_idx ON erasure_requests (state, requested_at);

-- Restricted processing: while a row exists, the kind of processing does not happen
-- (biometrics: face check-in, enrolment, kiosk identification; tracking: location batches).
CREATE TABLE processing_restrictions (
    employee_id    uuid NOT NULL REFERENCES employees (id) ON DELETE CASCADE,
    kind           text NOT NULL CHECK (kind IN ('biometrics', 'tracking')),
    restricted_at  timestamptz NOT NULL DEFAULT now(),
    restricted_by  uuid REFERENCES employees (id) ON DELETE SET NULL,
    PRIMARY KEY (employee_id, kind)
);
