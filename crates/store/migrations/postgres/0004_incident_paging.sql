-- Keyset paging of a territory's incidents (`WHERE territory_id = ? AND id > ? ORDER BY id`)
-- walks this index instead of sorting every incident of the territory.
CREATE INDEX incidents_by_territory_and_id ON incidents (territory_id, id);
