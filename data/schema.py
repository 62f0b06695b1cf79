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

# Thumbnails and other formats of an image, made once on request; they go with the image, even from outside.
CREATE_IMAGE_VARIANTS = """
CREATE TABLE IF NOT EXISTS image_variants (
    guid CHAR(36) NOT NULL,
    variant VARCHAR(32) NOT NULL,
    sha256 CHAR(64) NOT NULL,
    content LONGBLOB NOT NULL,
    PRIMARY KEY (guid, variant),
    CONSTRAINT image_variants_image FOREIGN KEY (guid) REFERENCES images (guid)
        ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
"""

# The total behind X-Total-Count, kept by triggers so a page costs the same at any size;
# triggers fire for an outside DELETE FROM images too.
CREATE_IMAGE_STATS = """
CREATE TABLE IF NOT EXISTS image_stats (
    id TINYINT UNSIGNED NOT NULL,
    total BIGINT NOT NULL,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
"""

# Jobs outlive the process: a restart runs what was queued and runs once more what was running.
CREATE_JOBS = """
CREATE TABLE IF NOT EXISTS jobs (
    seq BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    id CHAR(36) NOT NULL,
    status VARCHAR(16) NOT NULL,
    params TEXT NOT NULL,
    n TINYINT UNSIGNED NOT NULL,
    attempts INT UNSIGNED NOT NULL DEFAULT 0,
    images TEXT NOT NULL,
    error TEXT NULL,
    created_at DATETIME(6) NOT NULL,
    started_at DATETIME(6) NULL,
    finished_at DATETIME(6) NULL,
    webhook_url VARCHAR(2048) NULL,
    PRIMARY KEY (seq),
    UNIQUE KEY jobs_id (id),
    KEY jobs_status (status, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
"""

# Idempotency-Key: a key (hashed, so keys differing only in case stay apart under the _ci collation) names
# one job per route for 24 h; the job's row going takes the key with it.
CREATE_IDEMPOTENCY_KEYS = """
CREATE TABLE IF NOT EXISTS idempotency_keys (
    route VARCHAR(32) NOT NULL,
    key_sha256 CHAR(64) NOT NULL,
    body_sha256 CHAR(64) NOT NULL,
    job_id CHAR(36) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    PRIMARY KEY (route, key_sha256),
    KEY idempotency_keys_created (created_at),
    CONSTRAINT idempotency_keys_job FOREIGN KEY (job_id) REFERENCES jobs (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
"""

# One signed POST per finished job with a webhook_url; retries wait here, so a restart does not drop them.
CREATE_WEBHOOK_DELIVERIES = """
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    job_id CHAR(36) NOT NULL,
    url VARCHAR(2048) NOT NULL,
    payload MEDIUMTEXT NOT NULL,
    status VARCHAR(16) NOT NULL,
    attempts INT UNSIGNED NOT NULL DEFAULT 0,
    next_attempt_at DATETIME(6) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    last_error VARCHAR(255) NULL,
    PRIMARY KEY (id),
    UNIQUE KEY webhook_deliveries_job (job_id),
    KEY webhook_deliveries_due (status, next_attempt_at),
    CONSTRAINT webhook_deliveries_job FOREIGN KEY (job_id) REFERENCES jobs (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
"""

# Distributed mode: a job's events, for SSE streams on any API process (ids count 1, 2, … per job).
CREATE_JOB_EVENTS = """
CREATE TABLE IF NOT EXISTS job_events (
    job_id CHAR(36) NOT NULL,
    id INT UNSIGNED NOT NULL,
    kind VARCHAR(16) NOT NULL,
    data MEDIUMTEXT NOT NULL,
    at DOUBLE NOT NULL,
    PRIMARY KEY (job_id, id),
    CONSTRAINT job_events_job FOREIGN KEY (job_id) REFERENCES jobs (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
"""

# Distributed mode: every API process and GPU worker, with what it serves; seen_at is the database's clock.
CREATE_NODES = """
CREATE TABLE IF NOT EXISTS nodes (
    name VARCHAR(191) NOT NULL,
    role VARCHAR(16) NOT NULL,
    model VARCHAR(255) NOT NULL DEFAULT '',
    info TEXT NOT NULL,
    schema_version INT UNSIGNED NOT NULL,
    started_at DATETIME(6) NOT NULL,
    seen_at DATETIME(6) NOT NULL,
    PRIMARY KEY (name),
    KEY nodes_seen (role, seen_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
"""

# An edit's uploaded images and mask (PNG, already checked and sized), kept with its job until it ends, so a
# queued edit can run after a restart or in another process that reads only MySQL.
CREATE_JOB_INPUTS = """
CREATE TABLE IF NOT EXISTS job_inputs (
    job_id CHAR(36) NOT NULL,
    name VARCHAR(16) NOT NULL,
    content LONGBLOB NOT NULL,
    PRIMARY KEY (job_id, name),
    CONSTRAINT job_inputs_job FOREIGN KEY (job_id) REFERENCES jobs (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
"""

# Chores that one process of a deployment runs at a time (the stranded-jobs sweep, pruning): whoever holds
# a chore's row until a time still to come runs it; the database's clock decides.
CREATE_CHORE_LEASES = """
CREATE TABLE IF NOT EXISTS chore_leases (
    name VARCHAR(64) NOT NULL,
    holder VARCHAR(191) NOT NULL,
    until DATETIME(6) NOT NULL,
    PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
"""

# Columns added after a table first shipped, for databases created before them; each is idempotent.
MIGRATIONS = (
    "ALTER TABLE jobs ADD COLUMN IF NOT EXISTS webhook_url VARCHAR(2048) NULL",
    # Distributed mode: which worker runs a job, and when it last said it still does (the database's clock).
    "ALTER TABLE jobs ADD COLUMN IF NOT EXISTS worker VARCHAR(191) NULL",
    "ALTER TABLE jobs ADD COLUMN IF NOT EXISTS heartbeat_at DATETIME(6) NULL",
    # Distributed mode: until when a stream on some API process wants this job's previews.
    "ALTER TABLE jobs ADD COLUMN IF NOT EXISTS previews_until DATETIME(6) NULL",
    # Edits: the stored image an img2img started from, and the strength of every edit.
    "ALTER TABLE images ADD COLUMN IF NOT EXISTS init_image CHAR(36) NULL",
    "ALTER TABLE images ADD COLUMN IF NOT EXISTS strength DOUBLE NULL",
    # Distributed mode: when the stranded-jobs sweep last sent a job's task again.
    "ALTER TABLE jobs ADD COLUMN IF NOT EXISTS republished_at DATETIME(6) NULL",
    # Samplers: A1111's name of the sampler an image was made with, and its schedule type.
    "ALTER TABLE images ADD COLUMN IF NOT EXISTS sampler VARCHAR(32) NULL",
    "ALTER TABLE images ADD COLUMN IF NOT EXISTS scheduler VARCHAR(16) NULL",
)

# Bumped with every change above; API processes and workers of another version refuse to run together.
SCHEMA_VERSION = 4

TRIGGERS = {
    "images_count_insert": (
        "CREATE TRIGGER images_count_insert AFTER INSERT ON images FOR EACH ROW "
        "UPDATE image_stats SET total = total + 1 WHERE id = 1"
    ),
    "images_count_delete": (
        "CREATE TRIGGER images_count_delete AFTER DELETE ON images FOR EACH ROW "
        "UPDATE image_stats SET total = total - 1 WHERE id = 1"
    ),
}

SELECT_TRIGGERS = "SELECT TRIGGER_NAME AS name FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()"

RECOUNT = (
    "INSERT INTO image_stats (id, total) SELECT 1, COUNT(*) FROM images ON DUPLICATE KEY UPDATE total = VALUES(total)"
)

TABLES = (
    CREATE_IMAGES,
    CREATE_IMAGE_BLOBS,
    CREATE_IMAGE_STATS,
    CREATE_JOBS,
    CREATE_IMAGE_VARIANTS,
    CREATE_IDEMPOTENCY_KEYS,
    CREATE_WEBHOOK_DELIVERIES,
    CREATE_JOB_EVENTS,
    CREATE_NODES,
    CREATE_JOB_INPUTS,
    CREATE_CHORE_LEASES,
)
