-- The territory a body serves (a city's council, its commission); none: serves several.
ALTER TABLE bodies ADD COLUMN territory_id BIGINT REFERENCES territories(id);
