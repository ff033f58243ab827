//! The PostgreSQL schema and its versioned migrations.
//!
//! Everything lives in the schema `wangge`; `wangge.schema_migrations` holds
//! one row per migration applied. Each process that opens the store applies
//! the migrations it knows and the database lacks, in one transaction under an
//! advisory lock (so replicas starting together apply them once), and refuses a
//! database whose schema is newer than it knows: an old binary must not write
//! tables it does not understand.
//!
//! A layer's features live in a table of their own, `wangge.features_<version>`
//! (created by each write, see `layers`), so the migrations create only the
//! shared tables.

use deadpool_postgres::Client;

use crate::store::StoreError;

/// One step of the schema.
struct Migration {
    version: i32,
    description: &'static str,
    sql: &'static str,
}

/// Every migration this binary knows, in order. Append only: a released
/// migration is never edited.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "layers, jobs, lineage and adoptions",
        sql: "
CREATE SEQUENCE wangge.layer_version;
CREATE TABLE wangge.layers (
    dataset text NOT NULL, layer text NOT NULL, kind text NOT NULL, source text NOT NULL,
    features bigint NOT NULL, minx float8, miny float8, maxx float8, maxy float8,
    report text NOT NULL, job text, updated text NOT NULL, version bigint NOT NULL,
    feature_table text NOT NULL,
    PRIMARY KEY (dataset, layer));
CREATE TABLE wangge.jobs (
    id text PRIMARY KEY, dataset text NOT NULL, kind text NOT NULL, state text NOT NULL,
    progress float8 NOT NULL, stage text NOT NULL, reason text, params text NOT NULL,
    created text NOT NULL, started text, finished text, results text NOT NULL,
    summary text NOT NULL,
    owner text, heartbeat timestamptz, cancel_requested boolean NOT NULL DEFAULT false);
CREATE INDEX jobs_dataset ON wangge.jobs (dataset, created);
CREATE INDEX jobs_created ON wangge.jobs (created);
CREATE INDEX jobs_unfinished ON wangge.jobs (heartbeat) WHERE state IN ('queued', 'running');
CREATE TABLE wangge.retired_codes (
    dataset text NOT NULL, parent_code text NOT NULL, code text NOT NULL,
    PRIMARY KEY (dataset, parent_code, code));
CREATE TABLE wangge.adoptions (
    dataset text NOT NULL, version bigint NOT NULL, adopted_by text NOT NULL,
    adopted_at text NOT NULL, grids bigint NOT NULL, source text NOT NULL,
    PRIMARY KEY (dataset, version));
",
    },
    Migration {
        version: 2,
        description: "job attempts: the fencing token of jobs run from the queue",
        sql: "ALTER TABLE wangge.jobs ADD COLUMN attempt integer NOT NULL DEFAULT 0;",
    },
    Migration {
        version: 3,
        description: "county shards: a job cut into one queued shard per county",
        sql: "
ALTER TABLE wangge.jobs ADD COLUMN shards_total integer,
    ADD COLUMN shards_done integer NOT NULL DEFAULT 0,
    ADD COLUMN shards_failed integer NOT NULL DEFAULT 0;
CREATE TABLE wangge.job_shards (
    job text NOT NULL REFERENCES wangge.jobs (id) ON DELETE CASCADE,
    shard text NOT NULL, ord integer NOT NULL,
    state text NOT NULL DEFAULT 'queued', attempt integer NOT NULL DEFAULT 0, owner text,
    result text, reason text,
    PRIMARY KEY (job, shard));
",
    },
];

/// The newest schema version this binary knows.
pub const SCHEMA_VERSION: i32 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// The advisory lock held while migrating ("wangge" in ASCII, then 1).
const MIGRATION_LOCK: i64 = 0x7761_6e67_6765_0001;

/// Makes sure PostGIS is there and the schema is current; returns the
/// schema version.
pub(super) async fn migrate(client: &mut Client) -> Result<i32, StoreError> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let postgis = tx
        .query_opt(
            "SELECT extversion FROM pg_extension WHERE extname = 'postgis'",
            &[],
        )
        .await?;
    if postgis.is_none() {
        if let Err(e) = tx.batch_execute("CREATE EXTENSION postgis").await {
            return Err(StoreError::Setup(format!(
                "the database has no PostGIS and this role cannot add it ({}): install PostGIS \
                 (Debian: apt-get install postgis) and run CREATE EXTENSION postgis in the \
                 database as a superuser",
                super::describe(&e)
            )));
        }
    }
    tx.batch_execute(
        "CREATE SCHEMA IF NOT EXISTS wangge;
         CREATE TABLE IF NOT EXISTS wangge.schema_migrations (
             version integer PRIMARY KEY, description text NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now());",
    )
    .await?;
    let found: i32 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM wangge.schema_migrations",
            &[],
        )
        .await?
        .get(0);
    if found > SCHEMA_VERSION {
        return Err(StoreError::Setup(format!(
            "the database's wangge schema is version {found}, newer than this wangge knows \
             ({SCHEMA_VERSION}): run a wangge at least as new as the one that wrote it"
        )));
    }
    for m in MIGRATIONS.iter().filter(|m| m.version > found) {
        tx.batch_execute(m.sql).await?;
        tx.execute(
            "INSERT INTO wangge.schema_migrations (version, description) VALUES ($1, $2)",
            &[&m.version, &m.description],
        )
        .await?;
        tracing::info!(
            version = m.version,
            description = m.description,
            "store schema migrated"
        );
    }
    tx.commit().await?;
    Ok(SCHEMA_VERSION)
}
