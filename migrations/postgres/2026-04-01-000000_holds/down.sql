DROP TABLE seat_claims;
DROP TABLE holds;
