-- Firmware that refuses the serial-number window (`beginSerialNo`) is paged by time windows
-- only (integrations.md §1.1); the poller clears this flag the first time it is refused.
ALTER TABLE terminals ADD COLUMN serial_paging boolean NOT NULL DEFAULT true;
