-- Foreign keys off, so that replacing `shows` neither cascades into bookings nor
-- rewrites their references.
PRAGMA foreign_keys = OFF;
BEGIN;
ALTER TABLE bookings DROP COLUMN seat_label;
ALTER TABLE bookings DROP COLUMN currency;
ALTER TABLE bookings DROP COLUMN price;
DROP TABLE show_prices;
CREATE TABLE shows_before_screens (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    movie_id    BIGINT NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
    screen_name VARCHAR(100) NOT NULL,
    start_time  TIMESTAMP NOT NULL,
    total_seats INTEGER NOT NULL CHECK (total_seats BETWEEN 1 AND 10000)
);
INSERT INTO shows_before_screens (id, movie_id, screen_name, start_time, total_seats)
    SELECT id, movie_id, screen_name, start_time, total_seats FROM shows;
DROP TABLE shows;
ALTER TABLE shows_before_screens RENAME TO shows;
CREATE INDEX shows_start_time_idx ON shows (start_time, id);
CREATE INDEX shows_movie_idx ON shows (movie_id, start_time);
DROP TABLE screens;
PRAGMA foreign_key_check;
COMMIT;
PRAGMA foreign_keys = ON;
