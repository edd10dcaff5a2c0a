-- Kiosk mode PIN (`kiosk_mode.rs`): leaving kiosk mode on a tablet needs it. An argon2id hash
-- set by an administrator; wrong answers in a row are counted and lock the check for a while.
ALTER TABLE devices
    ADD COLUMN kiosk_pin_hash text,
    ADD COLUMN kiosk_pin_failures integer NOT NULL DEFAULT 0,
    ADD COLUMN kiosk_pin_locked_until timestamptz;
