DROP TABLE bookings;
DROP TABLE shows;
DROP TABLE movies;
DROP TABLE users;
