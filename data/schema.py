"""DDL for the database. ``data/init.py`` applies it idempotently."""

CREATE_DATABASE = "CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"

CREATE_IMAGES = """
CREATE TABLE IF NOT EXISTS images (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    guid CHAR(36) NOT NULL,
    filename VARCHAR(64) NOT NULL,
    prompt TEXT NOT NULL,
    negative_prompt TEXT NOT NULL,
    seed BIGINT UNSIGNED NULL,
    steps INT NULL,
    guidance_scale DOUBLE NULL,
    width INT NULL,
    height INT NULL,
    model VARCHAR(255) NOT NULL DEFAULT '',
    created_at DATETIME(6) NOT NULL,
    generation_ms INT NULL,
    content_sha256 CHAR(64) NOT NULL DEFAULT '',
    content_bytes INT UNSIGNED NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    UNIQUE KEY images_guid (guid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
"""

CREATE_IMAGE_BLOBS = """
CREATE TABLE IF NOT EXISTS image_blobs (
    guid CHAR(36) NOT NULL,
    content LONGBLOB NOT NULL,
    PRIMARY KEY (guid),
    CONSTRAINT image_blobs_image FOREIGN KEY (guid) REFERENCES images (guid)
        ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
"""

TABLES = (CREATE_IMAGES, CREATE_IMAGE_BLOBS)
