-- Accounts, organisation, devices, sessions, login throttling and the audit log.

CREATE TABLE departments (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX departments_name_key ON departments (lower(name));

CREATE TABLE positions (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX positions_name_key ON positions (lower(name));

CREATE TABLE sites (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    address     text,
    time_zone   text NOT NULL,
    geofence    jsonb NOT NULL,
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX sites_name_key ON sites (lower(name));

CREATE TABLE employees (
    id                     uuid PRIMARY KEY,
    login                  text NOT NULL,
    password_hash          text NOT NULL,
    first_name             text NOT NULL,
    last_name              text NOT NULL,
    card_number            text,
    role                   text NOT NULL CHECK (role IN ('admin', 'operator', 'user')),
    department_id          uuid REFERENCES departments (id) ON DELETE RESTRICT,
    position_id            uuid REFERENCES positions (id) ON DELETE RESTRICT,
    photo_key              text,
    status                 text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'dismissed')),
    iiko_id                text,
    hikvision_employee_no  text,
    scope_department_ids   uuid[],
    scope_site_ids         uuid[],
    dismissed_at           timestamptz,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    CHECK ((role = 'operator') = (scope_department_ids IS NOT NULL AND scope_site_ids IS NOT NULL))
);
CREATE UNIQUE INDEX employees_login_key ON employees (lower(login));
CREATE UNIQUE INDEX employees_card_number_key ON employees (card_number) WHERE card_number IS NOT NULL;
CREATE INDEX employees_department_idx ON employees (department_id);
CREATE INDEX employees_position_idx ON employees (position_id);

CREATE TABLE employee_sites (
    employee_id  uuid NOT NULL REFERENCES employees (id) ON DELETE CASCADE,
    site_id      uuid NOT NULL REFERENCES sites (id) ON DELETE RESTRICT,
    PRIMARY KEY (employee_id, site_id)
);
CREATE INDEX employee_sites_site_idx ON employee_sites (site_id);

CREATE TABLE devices (
    id                uuid PRIMARY KEY,
    kind              text NOT NULL CHECK (kind IN ('personal', 'kiosk')),
    name              text NOT NULL,
    platform          text NOT NULL,
    app_version       text,
    blocked           boolean NOT NULL DEFAULT false,
    site_id           uuid REFERENCES sites (id) ON DELETE RESTRICT,
    credential_hash   bytea UNIQUE,
    last_employee_id  uuid REFERENCES employees (id) ON DELETE SET NULL,
    last_seen_at      timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'kiosk') = (credential_hash IS NOT NULL))
);

CREATE TABLE employee_allowed_devices (
    employee_id  uuid NOT NULL REFERENCES employees (id) ON DELETE CASCADE,
    device_id    uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    PRIMARY KEY (employee_id, device_id)
);

-- A session is one refresh-token family: one login on one device.
CREATE TABLE sessions (
    id             uuid PRIMARY KEY,
    employee_id    uuid NOT NULL REFERENCES employees (id) ON DELETE CASCADE,
    device_id      uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_used_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz,
    revoke_reason  text
);
CREATE INDEX sessions_employee_idx ON sessions (employee_id) WHERE revoked_at IS NULL;
CREATE INDEX sessions_device_idx ON sessions (device_id) WHERE revoked_at IS NULL;

-- Refresh tokens: only the SHA-256 of the opaque token is stored.
CREATE TABLE refresh_tokens (
    token_hash   bytea PRIMARY KEY,
    session_id   uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    rotated_at   timestamptz
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

-- Failed logins, counted per login and per client address over a sliding window. Kept in
-- PostgreSQL so that every replica sees the same counts.
CREATE TABLE login_failures (
    id           bigserial PRIMARY KEY,
    login_key    text NOT NULL,
    client_addr  text NOT NULL,
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_login_idx ON login_failures (login_key, at);
CREATE INDEX login_failures_addr_idx ON login_failures (client_addr, at);

CREATE TABLE audit_log (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    actor_id     uuid REFERENCES employees (id) ON DELETE SET NULL,
    actor_login  text,
    action       text NOT NULL,
    entity_type  text NOT NULL,
    entity_id    uuid,
    before       jsonb,
    after        jsonb,
    request_id   text
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity_type, entity_id);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC);
