-- An account whose password an administrator or operator chose (created with an initial
-- password, or reset) must change it before using the panel. Cleared by the holder's own
-- password change.
ALTER TABLE employees ADD COLUMN must_change_password boolean NOT NULL DEFAULT false;
