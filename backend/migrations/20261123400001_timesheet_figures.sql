-- Typed day figures in `timesheet_days`, so reports aggregate plain columns instead of
-- decoding the JSON record of every day, and versioned dirty marks (issue 7, session 4).

-- Computed rows are a cache: drop them, they are recomputed with the new columns on demand.
DELETE FROM timesheet_days;

ALTER TABLE timesheet_days
    -- Absence kind of an `on_leave` day (annual_leave, sick_leave, business_trip, unpaid_leave).
    ADD COLUMN absence            text,
    ADD COLUMN missing_checkout   boolean NOT NULL,
    ADD COLUMN pending_events     integer NOT NULL,
    -- Worked on a day off or a holiday (code РВ).
    ADD COLUMN worked_on_day_off  boolean NOT NULL,
    -- The day's T-13 cell as the form shows it: codes ("Я/С") and hours ("8/2").
    ADD COLUMN t13_code           text NOT NULL,
    ADD COLUMN t13_hours          text NOT NULL,
    -- The code counted in the form's "absences by reason" columns, if any ("Б", "НН").
    ADD COLUMN t13_absence        text;

-- Every mark gets a new version when it is set or set again. A recompute deletes only the
-- marks whose version it read before reading its inputs, so a punch that arrives during the
-- recompute (and bumps the version) leaves its mark in place.
CREATE SEQUENCE timesheet_dirty_version;
ALTER TABLE timesheet_dirty
    ADD COLUMN version bigint NOT NULL DEFAULT nextval('timesheet_dirty_version');

CREATE OR REPLACE FUNCTION timesheet_mark_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ref_at timestamptz;
BEGIN
    INSERT INTO timesheet_dirty (employee_id, day)
    SELECT NEW.employee_id, (NEW.occurred_at AT TIME ZONE 'UTC')::date + d
    FROM generate_series(-2, 2) AS d
    ON CONFLICT (employee_id, day) DO UPDATE
        SET marked_at = clock_timestamp(), version = nextval('timesheet_dirty_version');
    IF NEW.refers_to IS NOT NULL THEN
        SELECT occurred_at INTO ref_at FROM attendance_events WHERE id = NEW.refers_to;
        IF ref_at IS NOT NULL THEN
            INSERT INTO timesheet_dirty (employee_id, day)
            SELECT NEW.employee_id, (ref_at AT TIME ZONE 'UTC')::date + d
            FROM generate_series(-2, 2) AS d
            ON CONFLICT (employee_id, day) DO UPDATE
                SET marked_at = clock_timestamp(), version = nextval('timesheet_dirty_version');
        END IF;
    END IF;
    RETURN NULL;
END;
$$;
