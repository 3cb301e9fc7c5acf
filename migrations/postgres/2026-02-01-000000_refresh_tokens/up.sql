-- One row per issued refresh token; the token itself is never stored, only its ids.
-- A login's tokens share a family: rotation retires a row, logout or a detected reuse
-- revokes the whole family. Expired rows are deleted at each login.
CREATE TABLE refresh_tokens (
    jti        VARCHAR(64) PRIMARY KEY,
    family     VARCHAR(64) NOT NULL,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    issued_at  TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    -- set when the token is exchanged for the next one of its family
    retired_at TIMESTAMP,
    -- set on every row of the family when it is ended
    revoked_at TIMESTAMP
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_expires_idx ON refresh_tokens (expires_at);
