-- Counts replacements of a territory's boundary, so a server can keep the
-- territory in memory and know, with one small query, when to load it again
-- (districts are only ever added, so their count and largest id tell the rest).
ALTER TABLE territories ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
