-- Background jobs (backend/src/jobs): every task that runs outside a request.
--
-- A job is enqueued inside the transaction of the event that causes it, claimed by one worker
-- with `FOR UPDATE SKIP LOCKED` for a lease (`locked_until`), and finished, retried later
-- (`run_at`), or made `dead` after its kind's attempt limit. A worker that dies leaves its
-- lease to expire, and another worker claims the job again. `unique_key` makes an enqueue
-- idempotent: periodic jobs use `kind@period` so that several replicas schedule each run once.
CREATE TABLE jobs (
    id            uuid PRIMARY KEY,
    kind          text NOT NULL,
    payload       jsonb NOT NULL DEFAULT '{}',
    state         text NOT NULL DEFAULT 'queued'
                  CHECK (state IN ('queued', 'running', 'done', 'dead', 'discarded')),
    attempts      integer NOT NULL DEFAULT 0,
    run_at        timestamptz NOT NULL DEFAULT now(),
    locked_by     text,
    locked_until  timestamptz,
    last_error    text,
    unique_key    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    CHECK ((state = 'running') = (locked_until IS NOT NULL))
);
-- What a worker looks for: due queued jobs, and running jobs whose lease ran out.
CREATE INDEX jobs_due_idx ON jobs (run_at) WHERE state = 'queued';
CREATE INDEX jobs_lease_idx ON jobs (locked_until) WHERE state = 'running';
CREATE INDEX jobs_state_idx ON jobs (state, updated_at DESC);
CREATE UNIQUE INDEX jobs_unique_key ON jobs (unique_key) WHERE unique_key IS NOT NULL;
