-- Hikvision face terminals (backend/src/hikvision, docs/hikvision.md): the terminals, their
-- raw passage events, anomalies, the people pushed to them and the call log.

-- A terminal's punches carry the terminal's own device row, so the source of a punch is part
-- of the hashed chain fields (`device_id`) and the chain format does not change.
ALTER TABLE devices DROP CONSTRAINT devices_kind_check;
ALTER TABLE devices ADD CONSTRAINT devices_kind_check
    CHECK (kind IN ('personal', 'kiosk', 'terminal'));

-- The number an employee has on the terminals: `hikvision_employee_no`, else the personnel
-- number (`card_number`). Two employees with the same number would share punches.
CREATE UNIQUE INDEX employees_terminal_person_no_key
    ON employees ((COALESCE(hikvision_employee_no, card_number)))
    WHERE COALESCE(hikvision_employee_no, card_number) IS NOT NULL;

CREATE TABLE terminals (
    id                 uuid PRIMARY KEY,
    -- Never deleted while punches refer to it (the chain hashes device_id).
    device_id          uuid NOT NULL UNIQUE REFERENCES devices (id) ON DELETE RESTRICT,
    name               text NOT NULL,
    base_url           text NOT NULL,
    username           text NOT NULL,
    -- AES-256-GCM with the descriptor key, the terminal id as associated data.
    password_ct        bytea NOT NULL,
    password_nonce     bytea NOT NULL,
    site_id            uuid NOT NULL REFERENCES sites (id) ON DELETE RESTRICT,
    direction          text NOT NULL CHECK (direction IN ('in', 'out', 'both')),
    poll_interval_s    integer NOT NULL CHECK (poll_interval_s BETWEEN 10 AND 3600),
    enabled            boolean NOT NULL DEFAULT true,
    -- Events before this are not imported (the first poll's start).
    import_since       timestamptz NOT NULL,
    -- Cursor: the highest serial number imported and the latest event time.
    last_serial_no     bigint NOT NULL DEFAULT 0,
    last_event_at      timestamptz,
    -- One poller at a time, across replicas: a lease renewed per page.
    poll_owner         text,
    poll_lease_until   timestamptz,
    -- Health, from deviceInfo and System/time.
    model              text,
    serial_number      text,
    firmware_version   text,
    device_name        text,
    clock_offset_s     double precision,
    utc_offset_s       integer,
    checked_at         timestamptz,
    last_poll_at       timestamptz,
    last_error         text,
    last_error_at      timestamptz,
    -- Consecutive polls refused with 401; at the limit polling stops (`locked_out_at`).
    auth_failures      integer NOT NULL DEFAULT 0,
    locked_out_at      timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX terminals_name_key ON terminals (lower(name));

-- Every event read from a terminal, stored before it is mapped; a re-poll never duplicates.
CREATE TABLE terminal_events (
    id                   bigserial PRIMARY KEY,
    terminal_id          uuid NOT NULL REFERENCES terminals (id) ON DELETE CASCADE,
    serial_no            bigint NOT NULL,
    major                integer NOT NULL,
    minor                integer NOT NULL,
    occurred_at          timestamptz NOT NULL,
    employee_no          text,
    -- face_pass | face_fail | stranger | other_pass | other
    class                text NOT NULL,
    -- punched | flagged | unknown_person | inactive_employee | not_punched | ignored
    outcome              text NOT NULL,
    employee_id          uuid,
    attendance_event_id  uuid,
    photo_key            text,
    raw                  jsonb NOT NULL,
    received_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (terminal_id, serial_no)
);
CREATE INDEX terminal_events_received_idx ON terminal_events (terminal_id, received_at);

-- Things an administrator should look at: skipped serial numbers, a skewed clock, a lock-out.
CREATE TABLE terminal_anomalies (
    id           bigserial PRIMARY KEY,
    terminal_id  uuid NOT NULL REFERENCES terminals (id) ON DELETE CASCADE,
    at           timestamptz NOT NULL DEFAULT now(),
    kind         text NOT NULL CHECK (kind IN ('serial_gap', 'clock_skew', 'auth_lockout')),
    detail       jsonb NOT NULL
);
CREATE INDEX terminal_anomalies_terminal_idx ON terminal_anomalies (terminal_id, id DESC);

-- The people we put on a terminal. No foreign key to employees: an erased employee's row
-- still tells the sync job which number to delete from the terminal.
CREATE TABLE terminal_people (
    terminal_id     uuid NOT NULL REFERENCES terminals (id) ON DELETE CASCADE,
    employee_id     uuid NOT NULL,
    employee_no     text NOT NULL,
    -- SHA-256 of the UserInfo body last accepted, so an unchanged person is not pushed again.
    user_hash       bytea,
    -- The enrolment photo whose face is on the terminal.
    face_photo_key  text,
    synced_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (terminal_id, employee_id)
);

-- Every ISAPI call, for administrators (never the password).
CREATE TABLE terminal_log (
    id            bigserial PRIMARY KEY,
    terminal_id   uuid NOT NULL REFERENCES terminals (id) ON DELETE CASCADE,
    at            timestamptz NOT NULL DEFAULT now(),
    operation     text NOT NULL,
    ok            boolean NOT NULL,
    http_status   integer,
    status_code   integer,
    sub_status    text,
    error         text,
    count         integer,
    duration_ms   integer NOT NULL
);
CREATE INDEX terminal_log_terminal_idx ON terminal_log (terminal_id, id DESC);
