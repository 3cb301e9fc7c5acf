-- Times are stored as UTC in TIMESTAMP columns, so the schema is the same on SQLite.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      VARCHAR(150) NOT NULL,
    -- lower-cased username: makes names unique regardless of case
    username_key  VARCHAR(150) NOT NULL UNIQUE,
    email         VARCHAR(254),
    password_hash TEXT NOT NULL,
    is_staff      BOOLEAN NOT NULL DEFAULT 0,
    created_at    TIMESTAMP NOT NULL
);

CREATE TABLE movies (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    title            VARCHAR(200) NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    duration_minutes INTEGER NOT NULL CHECK (duration_minutes BETWEEN 1 AND 1000)
);
CREATE INDEX movies_title_idx ON movies (title, id);

CREATE TABLE shows (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    movie_id    BIGINT NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
    screen_name VARCHAR(100) NOT NULL,
    start_time  TIMESTAMP NOT NULL,
    total_seats INTEGER NOT NULL CHECK (total_seats BETWEEN 1 AND 10000)
);
CREATE INDEX shows_start_time_idx ON shows (start_time, id);
CREATE INDEX shows_movie_idx ON shows (movie_id, start_time);

CREATE TABLE bookings (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      BIGINT NOT NULL REFERENCES users (id),
    -- only a show without confirmed bookings can be deleted; its cancelled ones go with it
    show_id      BIGINT NOT NULL REFERENCES shows (id) ON DELETE CASCADE,
    seat_number  INTEGER NOT NULL CHECK (seat_number >= 1),
    status       VARCHAR(10) NOT NULL CHECK (status IN ('CONFIRMED', 'CANCELLED')),
    booking_time TIMESTAMP NOT NULL,
    cancelled_at TIMESTAMP
);
-- the seed's lookup index
CREATE INDEX bookings_show_seat_status_idx ON bookings (show_id, seat_number, status);
-- the database itself refuses a double booking
CREATE UNIQUE INDEX bookings_one_confirmed_per_seat ON bookings (show_id, seat_number)
    WHERE status = 'CONFIRMED';
CREATE INDEX bookings_user_idx ON bookings (user_id, booking_time DESC, id DESC);
