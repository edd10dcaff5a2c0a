-- Attendance notices of the Telegram bot (backend/src/telegram/notices.rs): late arrivals,
-- absences, missing check-outs and daily department summaries, with a switch per kind.

ALTER TABLE telegram_links
    ADD COLUMN notify_late      boolean NOT NULL DEFAULT true,
    ADD COLUMN notify_absent    boolean NOT NULL DEFAULT true,
    ADD COLUMN notify_checkout  boolean NOT NULL DEFAULT true,
    ADD COLUMN notify_summary   boolean NOT NULL DEFAULT true;

-- One row per notice decided: (kind, employee or department, local date). The insert that
-- claims it commits with the messages it enqueues, so however many replicas or reruns of the
-- periodic job look at the same shift, it is told once.
CREATE TABLE telegram_notices (
    kind        text NOT NULL CHECK (kind IN ('late', 'absent', 'checkout', 'summary')),
    subject_id  uuid NOT NULL,
    day         date NOT NULL,
    recipients  integer NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, subject_id, day)
);
CREATE INDEX telegram_notices_created_idx ON telegram_notices (created_at);
