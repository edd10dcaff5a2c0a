-- Device keys (docs/device-keys.md): a personal device registers a P-256 public key at its
-- first login with a proof (trust on first use) and signs a server nonce at every later login
-- and refresh. Keys are stored as SEC1 uncompressed points (65 bytes).
ALTER TABLE devices
    ADD COLUMN public_key bytea,
    ADD COLUMN public_key_registered_at timestamptz;

-- The key an administrator approved with the device: the device's key when it was put on the
-- employee's allow-list. NULL for a device allowed before it had a key (it must be approved
-- again once it has one).
ALTER TABLE employee_allowed_devices ADD COLUMN public_key bytea;

-- Single-use nonces for device proofs; only their SHA-256 is kept. In PostgreSQL so that any
-- replica can take a nonce another one issued.
CREATE TABLE auth_nonces (
    nonce_hash  bytea PRIMARY KEY,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX auth_nonces_expires_idx ON auth_nonces (expires_at);
