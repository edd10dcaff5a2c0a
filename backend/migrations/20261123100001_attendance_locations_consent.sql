-- Consent ledger, face templates, liveness challenges, location points and tracking policies.

-- Versioned consent texts per kind; the highest version of a kind is the current one.
CREATE TABLE consent_texts (
    kind        text NOT NULL CHECK (kind IN ('biometric', 'location', 'telegram')),
    version     integer NOT NULL CHECK (version > 0),
    body        text NOT NULL,
    created_by  uuid REFERENCES employees (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, version)
);

-- Every grant and withdrawal, never updated or deleted.
CREATE TABLE consent_records (
    id            bigserial PRIMARY KEY,
    employee_id   uuid NOT NULL REFERENCES employees (id) ON DELETE CASCADE,
    kind          text NOT NULL,
    action        text NOT NULL CHECK (action IN ('grant', 'withdraw')),
    text_version  integer NOT NULL,
    method        text NOT NULL CHECK (method IN ('app', 'paper')),
    device_id     uuid REFERENCES devices (id) ON DELETE SET NULL,
    actor_id      uuid REFERENCES employees (id) ON DELETE SET NULL,
    at            timestamptz NOT NULL DEFAULT clock_timestamp(),
    FOREIGN KEY (kind, text_version) REFERENCES consent_texts (kind, version)
);
CREATE INDEX consent_records_employee_idx ON consent_records (employee_id, kind, id DESC);

-- Enrolled face templates (descriptor encrypted with AES-256-GCM) and their photo keys.
CREATE TABLE face_templates (
    id           uuid PRIMARY KEY,
    employee_id  uuid NOT NULL REFERENCES employees (id) ON DELETE CASCADE,
    model_id     text NOT NULL,
    descriptor   bytea NOT NULL,
    nonce        bytea NOT NULL,
    photo_key    text,
    quality      real NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX face_templates_employee_idx ON face_templates (employee_id);

-- Active liveness challenges: single use, short-lived, bound to employee and device.
CREATE TABLE liveness_challenges (
    nonce        text PRIMARY KEY,
    employee_id  uuid NOT NULL REFERENCES employees (id) ON DELETE CASCADE,
    device_id    uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    actions      text[] NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz
);
CREATE INDEX liveness_challenges_expires_idx ON liveness_challenges (expires_at);

-- Location points, partitioned by month of recorded_at. Monthly partitions are created on
-- demand by the server (locations::ensure_partitions); the default partition only catches
-- what would otherwise fail, and the retention job empties it too.
CREATE TABLE location_points (
    employee_id  uuid NOT NULL,
    device_id    uuid NOT NULL,
    recorded_at  timestamptz NOT NULL,
    lat          double precision NOT NULL,
    lon          double precision NOT NULL,
    accuracy     double precision NOT NULL,
    speed        double precision,
    bearing      double precision,
    altitude     double precision,
    mock         boolean NOT NULL DEFAULT false,
    jump         boolean NOT NULL DEFAULT false,
    battery      smallint,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (employee_id, device_id, recorded_at)
) PARTITION BY RANGE (recorded_at);
CREATE INDEX location_points_employee_time_idx ON location_points (employee_id, recorded_at);
CREATE TABLE location_points_default PARTITION OF location_points DEFAULT;

-- Answers to location batches by idempotency key: the same key again gets the same answer.
CREATE TABLE location_batch_requests (
    employee_id  uuid NOT NULL REFERENCES employees (id) ON DELETE CASCADE,
    key          uuid NOT NULL,
    body_hash    bytea NOT NULL,
    response     jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (employee_id, key)
);
CREATE INDEX location_batch_requests_created_idx ON location_batch_requests (created_at);

-- Tracking policy overrides: per employee, per department; the built-in default otherwise.
CREATE TABLE employee_tracking_policies (
    employee_id  uuid PRIMARY KEY REFERENCES employees (id) ON DELETE CASCADE,
    policy       jsonb NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE department_tracking_policies (
    department_id  uuid PRIMARY KEY REFERENCES departments (id) ON DELETE CASCADE,
    policy         jsonb NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
