-- The Telegram bot (backend/src/telegram): linked chats, one-time link codes, the polling
-- offset, rate-limit slots, delivery records and the call log.

-- One linked chat per employee. Only `active` links receive messages; `blocked` (the user
-- blocked the bot: 403) and `broken` (chat not found: 400) stay visible until relinked.
CREATE TABLE telegram_links (
    employee_id        uuid PRIMARY KEY REFERENCES employees (id) ON DELETE CASCADE,
    chat_id            bigint NOT NULL,
    telegram_user_id   bigint,
    telegram_username  text,
    language           text NOT NULL CHECK (language IN ('ru', 'tg', 'en')),
    status             text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'blocked', 'broken')),
    status_reason      text,
    -- Per-employee switches.
    notify_punches     boolean NOT NULL DEFAULT true,
    notify_flagged     boolean NOT NULL DEFAULT true,
    notify_reviews     boolean NOT NULL DEFAULT true,
    linked_at          timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX telegram_links_chat_key ON telegram_links (chat_id) WHERE status = 'active';

-- Link codes: only the SHA-256 of the code is stored; single use, short-lived.
CREATE TABLE telegram_link_codes (
    code_hash    bytea PRIMARY KEY,
    employee_id  uuid NOT NULL REFERENCES employees (id) ON DELETE CASCADE,
    language     text NOT NULL CHECK (language IN ('ru', 'tg', 'en')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz
);
CREATE INDEX telegram_link_codes_employee_idx ON telegram_link_codes (employee_id);

-- One row: the getUpdates offset (next update id to ask for), the global send slot and a
-- global pause after a 429, shared by every replica.
CREATE TABLE telegram_state (
    id             boolean PRIMARY KEY DEFAULT true CHECK (id),
    update_offset  bigint NOT NULL DEFAULT 0,
    next_slot      timestamptz NOT NULL DEFAULT '-infinity',
    paused_until   timestamptz NOT NULL DEFAULT '-infinity',
    bot_username   text
);
INSERT INTO telegram_state DEFAULT VALUES;

-- The earliest time the next message may go to a chat (at most one a second per chat).
CREATE TABLE telegram_chat_slots (
    chat_id       bigint PRIMARY KEY,
    next_send_at  timestamptz NOT NULL
);

-- One row per message we mean to send, keyed by what it is about (`punch:<event>:<employee>`):
-- a retried job finds `sent` and does not send again.
CREATE TABLE telegram_deliveries (
    key          text PRIMARY KEY,
    chat_id      bigint NOT NULL,
    state        text NOT NULL CHECK (state IN ('sending', 'sent', 'failed')),
    message_id   bigint,
    error        text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Every Bot API call, for administrators (never the token, never message text).
CREATE TABLE telegram_log (
    id            bigserial PRIMARY KEY,
    at            timestamptz NOT NULL DEFAULT now(),
    method        text NOT NULL,
    chat_id       bigint,
    ok            boolean NOT NULL,
    error_code    integer,
    description   text,
    retry_after   integer,
    duration_ms   integer NOT NULL,
    delivery_key  text
);
CREATE INDEX telegram_log_at_idx ON telegram_log (at DESC);
