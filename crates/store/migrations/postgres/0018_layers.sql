-- Point layers users import as risk-terrain factors (liquor shops, abandoned buildings, …).
CREATE TABLE layers (
    id            BIGSERIAL PRIMARY KEY,
    territory_id  BIGINT NOT NULL REFERENCES territories(id),
    name          TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    UNIQUE (territory_id, name)
);
CREATE TABLE layer_points (
    layer_id  BIGINT NOT NULL REFERENCES layers(id),
    lat       DOUBLE PRECISION NOT NULL,
    lon       DOUBLE PRECISION NOT NULL
);
CREATE INDEX layer_points_layer ON layer_points (layer_id);
