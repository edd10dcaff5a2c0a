-- Schedules, holiday calendar, absences and the computed timesheet (issue 7).

CREATE TABLE shift_templates (
    id                          uuid PRIMARY KEY,
    name                        text NOT NULL,
    start_time                  time NOT NULL,
    end_time                    time NOT NULL,
    unpaid_break_minutes        integer NOT NULL DEFAULT 0,
    late_grace_minutes          integer NOT NULL DEFAULT 0,
    early_leave_grace_minutes   integer NOT NULL DEFAULT 0,
    checkin_window_minutes      integer NOT NULL DEFAULT 60,
    site_id                     uuid REFERENCES sites (id) ON DELETE RESTRICT,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    CHECK (start_time <> end_time)
);
CREATE UNIQUE INDEX shift_templates_name_key ON shift_templates (lower(name));

-- `definition` refers to shift templates by id (see routes/schedules.rs); the templates a
-- schedule uses are also listed in `schedule_shift_refs` so they cannot be deleted under it.
CREATE TABLE schedules (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('weekly', 'rotating', 'roster', 'flexible')),
    definition  jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX schedules_name_key ON schedules (lower(name));

CREATE TABLE schedule_shift_refs (
    schedule_id        uuid NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    shift_template_id  uuid NOT NULL REFERENCES shift_templates (id) ON DELETE RESTRICT,
    PRIMARY KEY (schedule_id, shift_template_id)
);

-- A schedule assigned to one employee or one department for an inclusive date range
-- (`valid_to` NULL: open-ended). An employee's own assignment wins over the department's.
CREATE TABLE schedule_assignments (
    id             uuid PRIMARY KEY,
    schedule_id    uuid NOT NULL REFERENCES schedules (id) ON DELETE RESTRICT,
    employee_id    uuid REFERENCES employees (id) ON DELETE CASCADE,
    department_id  uuid REFERENCES departments (id) ON DELETE CASCADE,
    valid_from     date NOT NULL,
    valid_to       date,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CHECK ((employee_id IS NULL) <> (department_id IS NULL)),
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE INDEX schedule_assignments_employee_idx ON schedule_assignments (employee_id);
CREATE INDEX schedule_assignments_department_idx ON schedule_assignments (department_id);

-- The holiday calendar: one row per overridden date.
--   kind: holiday (public holiday) | non_working (transferred day off) |
--         working (a free day made working, worked as `working_as` ISO weekday 1..7)
CREATE TABLE holiday_calendar (
    day         date PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('holiday', 'non_working', 'working')),
    name        text,
    working_as  smallint CHECK (working_as BETWEEN 1 AND 7),
    CHECK ((kind = 'working') = (working_as IS NOT NULL))
);

CREATE TABLE absences (
    id           uuid PRIMARY KEY,
    employee_id  uuid NOT NULL REFERENCES employees (id) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('annual_leave', 'sick_leave', 'business_trip', 'unpaid_leave')),
    date_from    date NOT NULL,
    date_to      date NOT NULL,
    note         text,
    created_by   uuid REFERENCES employees (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (date_to >= date_from)
);
CREATE INDEX absences_employee_idx ON absences (employee_id, date_from);

-- Rules of the computation (one row).
CREATE TABLE timesheet_settings (
    id                smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    missing_checkout  text NOT NULL DEFAULT 'flag' CHECK (missing_checkout IN ('flag', 'close_at_shift_end'))
);
INSERT INTO timesheet_settings DEFAULT VALUES;

-- Computed days. A missing row, a row with a dirty mark, a row that is not final (the day
-- is not over) or one computed for another department or zone is recomputed before it is
-- served (timesheet/store.rs). Changes of schedules, holidays and absences delete rows.
CREATE TABLE timesheet_days (
    employee_id          uuid NOT NULL REFERENCES employees (id) ON DELETE CASCADE,
    -- The department and time zone the row was computed for: a change makes it stale.
    department_id        uuid,
    time_zone            text NOT NULL,
    day                  date NOT NULL,
    status               text NOT NULL,
    worked_minutes       integer NOT NULL,
    late_minutes         integer NOT NULL,
    early_leave_minutes  integer NOT NULL,
    overtime_minutes     integer NOT NULL,
    night_minutes        integer NOT NULL,
    is_final             boolean NOT NULL,
    record               jsonb NOT NULL,
    computed_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (employee_id, day)
);

-- (employee, local date) whose computed row is stale.
CREATE TABLE timesheet_dirty (
    employee_id  uuid NOT NULL REFERENCES employees (id) ON DELETE CASCADE,
    day          date NOT NULL,
    marked_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (employee_id, day)
);

-- Any attendance event marks the days it can affect, whichever code inserts it. The local
-- date of an instant is within one day of its UTC date, and a punch can belong to the
-- previous day (night shift) or the next (early check-in), so UTC date -2 .. +2 is marked.
-- A review or correction also marks the days of the punch it refers to.
CREATE FUNCTION timesheet_mark_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ref_at timestamptz;
BEGIN
    INSERT INTO timesheet_dirty (employee_id, day)
    SELECT NEW.employee_id, (NEW.occurred_at AT TIME ZONE 'UTC')::date + d
    FROM generate_series(-2, 2) AS d
    ON CONFLICT (employee_id, day) DO UPDATE SET marked_at = clock_timestamp();
    IF NEW.refers_to IS NOT NULL THEN
        SELECT occurred_at INTO ref_at FROM attendance_events WHERE id = NEW.refers_to;
        IF ref_at IS NOT NULL THEN
            INSERT INTO timesheet_dirty (employee_id, day)
            SELECT NEW.employee_id, (ref_at AT TIME ZONE 'UTC')::date + d
            FROM generate_series(-2, 2) AS d
            ON CONFLICT (employee_id, day) DO UPDATE SET marked_at = clock_timestamp();
        END IF;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER attendance_events_mark_timesheet
    AFTER INSERT ON attendance_events
    FOR EACH ROW EXECUTE FUNCTION timesheet_mark_event();
