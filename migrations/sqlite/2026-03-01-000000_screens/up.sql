-- Runs in a transaction of its own: metadata.toml turns Diesel's off, for down.sql.
BEGIN;
-- Screens (auditoriums) with a seat layout, shows on a screen with a price per category
-- and a currency, and bookings that keep the label and the price of their seat.
-- Every row that exists stays valid: a show without a screen is a flat show (one row of
-- seats 1 to total_seats, category standard), priced 0 in the default currency.

-- The layout is stored whole, in the contract's compact form (JSON), and parsed by the
-- domain on read; capacity and blocked_seats are derived from it when it is written.
CREATE TABLE screens (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          VARCHAR(100) NOT NULL,
    capacity      INTEGER NOT NULL CHECK (capacity BETWEEN 1 AND 10000),
    blocked_seats INTEGER NOT NULL CHECK (blocked_seats >= 0 AND blocked_seats <= capacity),
    layout        TEXT NOT NULL
);
CREATE INDEX screens_name_idx ON screens (name, id);

-- NULL: a flat show. A screen that a show uses cannot be deleted.
ALTER TABLE shows ADD COLUMN screen_id BIGINT REFERENCES screens (id);
ALTER TABLE shows ADD COLUMN currency VARCHAR(3) NOT NULL DEFAULT 'EUR';
CREATE INDEX shows_screen_idx ON shows (screen_id);

-- One row per category of the show's layout, in minor units of the show's currency.
CREATE TABLE show_prices (
    show_id  BIGINT NOT NULL REFERENCES shows (id) ON DELETE CASCADE,
    category VARCHAR(30) NOT NULL,
    price    INTEGER NOT NULL CHECK (price BETWEEN 0 AND 10000000),
    PRIMARY KEY (show_id, category)
);
INSERT INTO show_prices (show_id, category, price) SELECT id, 'standard', 0 FROM shows;

-- What the seat was and cost when it was booked; a later change of prices keeps them.
ALTER TABLE bookings ADD COLUMN price INTEGER NOT NULL DEFAULT 0 CHECK (price >= 0);
ALTER TABLE bookings ADD COLUMN currency VARCHAR(3) NOT NULL DEFAULT 'EUR';
ALTER TABLE bookings ADD COLUMN seat_label VARCHAR(8) NOT NULL DEFAULT '';
UPDATE bookings SET seat_label = CAST(seat_number AS VARCHAR(8));
COMMIT;
