ALTER TABLE bookings DROP COLUMN seat_label;
ALTER TABLE bookings DROP COLUMN currency;
ALTER TABLE bookings DROP COLUMN price;
DROP TABLE show_prices;
DROP INDEX shows_screen_idx;
ALTER TABLE shows DROP COLUMN currency;
ALTER TABLE shows DROP COLUMN screen_id;
DROP TABLE screens;
