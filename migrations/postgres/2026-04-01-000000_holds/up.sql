-- Seat holds, and one claim per seat that is taken: by a confirmed booking or by an
-- unexpired active hold. seat_claims' primary key is what makes the database itself
-- refuse two of those on one seat; bookings keep their own partial unique index too.

-- A hold keeps its seats (number, label, category, price) as JSON: what was held and at
-- what price stays readable after the seats go back.
CREATE TABLE holds (
    id          BIGSERIAL PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    show_id     BIGINT NOT NULL REFERENCES shows (id) ON DELETE CASCADE,
    status      VARCHAR(10) NOT NULL
                CHECK (status IN ('ACTIVE', 'CONFIRMED', 'RELEASED', 'EXPIRED')),
    seat_count  INTEGER NOT NULL CHECK (seat_count BETWEEN 1 AND 10),
    seats       TEXT NOT NULL,
    currency    VARCHAR(3) NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    extensions  INTEGER NOT NULL DEFAULT 0 CHECK (extensions >= 0)
);
CREATE INDEX holds_user_idx ON holds (user_id, created_at DESC, id DESC);
-- housekeeping's scan for holds past their expiry, and the per-user cap's count
CREATE INDEX holds_active_expiry_idx ON holds (expires_at) WHERE status = 'ACTIVE';
CREATE INDEX holds_active_user_idx ON holds (user_id) WHERE status = 'ACTIVE';

-- expires_at NULL: a confirmed booking's seat, taken until it is cancelled. Otherwise the
-- seat of hold hold_id, taken until expires_at: from then on, any transaction that wants
-- the seat takes the row over in the statement that claims it.
CREATE TABLE seat_claims (
    -- No foreign key: its check would run on every claim, the hot path of every booking.
    -- A show goes only without live claims, and its deletion deletes its claims.
    show_id     BIGINT NOT NULL,
    seat_number INTEGER NOT NULL CHECK (seat_number >= 1),
    hold_id     BIGINT,
    expires_at  TIMESTAMP,
    PRIMARY KEY (show_id, seat_number)
);
CREATE INDEX seat_claims_hold_idx ON seat_claims (hold_id) WHERE hold_id IS NOT NULL;

INSERT INTO seat_claims (show_id, seat_number)
    SELECT show_id, seat_number FROM bookings WHERE status = 'CONFIRMED';
