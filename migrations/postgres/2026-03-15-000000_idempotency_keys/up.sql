-- One row per Idempotency-Key in use: the scope it holds (user, method, path, key), the
-- body's digest, the request that claimed it and, once that request answered, the answer
-- given again to its retries. status IS NULL while the request is in flight. Rows past
-- idempotency.retention_seconds count as absent and are deleted by housekeeping.
CREATE TABLE idempotency_keys (
    -- SHA-256 of (user, method, path, key): a short primary key however long the path
    scope_hash   BYTEA NOT NULL PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    method       VARCHAR(10) NOT NULL,
    path         TEXT NOT NULL,
    idem_key     VARCHAR(255) NOT NULL,
    fingerprint  BYTEA NOT NULL,
    claim_token  VARCHAR(64) NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    status       INTEGER,
    content_type TEXT,
    body         BYTEA,
    CHECK ((status IS NULL) = (body IS NULL))
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
CREATE INDEX idempotency_keys_user_idx ON idempotency_keys (user_id);
