-- Report downloads (issue 18): a summary, daily-detail or T-13 file written by the
-- `reports.download` job into `data_dir/reports`, so a long report never holds a request open.
-- Visible to the account that asked for it only; downloadable until `expires_at`, then the
-- hourly `reports.download_expiry` job deletes the file and marks the row `expired`.
CREATE TABLE report_downloads (
    id               uuid PRIMARY KEY,
    requested_by     uuid NOT NULL REFERENCES employees (id) ON DELETE CASCADE,
    report           text NOT NULL CHECK (report IN ('summary', 'daily', 't13')),
    format           text NOT NULL CHECK (format IN ('csv', 'xlsx')),
    period_from      date NOT NULL,
    period_to        date NOT NULL,
    -- the filters and T-13 header fields of the request
    params           jsonb NOT NULL DEFAULT '{}',
    state            text NOT NULL DEFAULT 'queued'
                     CHECK (state IN ('queued', 'running', 'done', 'failed', 'expired')),
    -- progress: employees read of those the report covers (set when the job starts)
    employees_total  integer NOT NULL DEFAULT 0,
    employees_done   integer NOT NULL DEFAULT 0,
    file_name        text,
    content_type     text,
    size_bytes       bigint,
    error            text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    expires_at       timestamptz
);
CREATE INDEX report_downloads_requester_idx ON report_downloads (requested_by, created_at DESC);
CREATE INDEX report_downloads_expiry_idx ON report_downloads (expires_at) WHERE state = 'done';
