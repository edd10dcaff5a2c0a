-- Re-enrolment after a model change (issue 24): a face template is tied to its model id, so a
-- new default embedder means re-computing every template from its stored enrolment photo. One
-- row per run of the `face.reenrol` job; `skipped` lists the employees it could not re-enrol
-- (no consent, biometrics restricted, no stored photo, photo refused) with the reason.
CREATE TABLE face_reenrolments (
    id                    uuid PRIMARY KEY,
    -- the model templates are re-computed with (set when the job starts)
    model_id              text,
    state                 text NOT NULL DEFAULT 'queued'
                          CHECK (state IN ('queued', 'running', 'done', 'failed')),
    requested_by          uuid,
    employees_total       integer NOT NULL DEFAULT 0,
    employees_done        integer NOT NULL DEFAULT 0,
    templates_reenrolled  integer NOT NULL DEFAULT 0,
    skipped               jsonb NOT NULL DEFAULT '[]',
    error                 text,
    created_at            timestamptz NOT NULL DEFAULT now(),
    finished_at           timestamptz
);
-- At most one run queued or running at a time.
CREATE UNIQUE INDEX face_reenrolments_one_active ON face_reenrolments ((true))
    WHERE state IN ('queued', 'running');
