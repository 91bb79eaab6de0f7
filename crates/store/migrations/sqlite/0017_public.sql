-- Whether a territory's aggregated figures are published on the public page (off by default).
ALTER TABLE territories ADD COLUMN published INTEGER NOT NULL DEFAULT 0;
