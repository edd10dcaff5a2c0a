-- Correction requests (backend/src/privacy/correction.rs): an employee asks for a punch or a
-- personal field to be corrected; operators accept (a correction event is appended, or the
-- field updated) or reject it.
CREATE TABLE correction_requests (
    id                   uuid PRIMARY KEY,
    employee_id          uuid NOT NULL REFERENCES employees (id) ON DELETE CASCADE,
    kind                 text NOT NULL CHECK (kind IN ('punch', 'field')),
    -- Punch: the punch to replace (public id; NULL: a missing punch), its direction and time.
    event_id             uuid,
    punch_kind           text CHECK (punch_kind IN ('in', 'out')),
    at                   timestamptz,
    -- Field: which one and the correct value.
    field                text CHECK (field IN ('first_name', 'last_name')),
    value                text,
    comment              text NOT NULL,
    state                text NOT NULL DEFAULT 'pending'
                         CHECK (state IN ('pending', 'accepted', 'rejected')),
    decided_by           uuid REFERENCES employees (id) ON DELETE SET NULL,
    decided_at           timestamptz,
    decision_comment     text,
    correction_event_id  uuid,
    created_at           timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'punch') = (punch_kind IS NOT NULL AND at IS NOT NULL)),
    CHECK ((kind = 'field') = (field IS NOT NULL AND value IS NOT NULL))
);
CREATE INDEX correction_requests_state_idx ON correction_requests (state, created_at);
CREATE INDEX correction_requests_employee_idx ON correction_requests (employee_id, created_at DESC);
CREATE INDEX correction_requests_event_idx ON correction_requests (event_id) WHERE state = 'pending';
