-- Settings with no other home, one JSON value per key: `map` (the maps' basemap style URL) and
-- `tracking_default` (the tracking policy of employees without an own or department override).
CREATE TABLE panel_settings (
    key text PRIMARY KEY CHECK (key IN ('map', 'tracking_default')),
    value jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
