-- When the profile photo was last set: clients use it to know whether there is one and to
-- refetch it after a change (the photo store key itself stays internal).
ALTER TABLE employees ADD COLUMN photo_updated_at timestamptz;
UPDATE employees SET photo_updated_at = updated_at WHERE photo_key IS NOT NULL;
