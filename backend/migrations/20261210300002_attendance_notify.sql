-- Live updates (`live.rs`): every statement that records attendance events notifies the
-- servers' listeners at commit (one notification per transaction: PostgreSQL folds repeats).
CREATE FUNCTION notify_attendance_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('attendance_changed', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER attendance_events_notify
    AFTER INSERT ON attendance_events
    FOR EACH STATEMENT EXECUTE FUNCTION notify_attendance_changed();
