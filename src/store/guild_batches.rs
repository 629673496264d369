//! Guild events written in batches: a bot in 100,000 servers gets one
//! GUILD_CREATE per server at every start, and one statement per batch (not
//! per server) keeps that burst off the connections interactions need. Each
//! statement detects joins and leaves itself, against the rows as they were
//! before it, and writes their `guild_join` / `guild_leave` entries in the
//! same statement, so a restart logs nothing twice.

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, Transaction};

use super::guilds::GuildSnapshot;
use super::{DbId, db_id};

/// One batch, already reduced to one change per server (the writer keeps the
/// events' order per server: a server created then deleted is in both
/// `created` and `deleted`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuildBatch {
    /// GUILD_CREATE: insert or refresh (a join if unknown or left).
    pub created: Vec<GuildSnapshot>,
    /// GUILD_UPDATE: new name and icon.
    pub renamed: Vec<(u64, String, Option<String>)>,
    /// GUILD_DELETE (not an outage): left.
    pub deleted: Vec<u64>,
}

/// What a batch changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    pub joined: Vec<u64>,
    pub left: Vec<u64>,
}

/// Writes `batch` in one transaction: creates, then renames, then removals.
pub async fn apply(
    pool: &PgPool,
    batch: &GuildBatch,
    now: DateTime<Utc>,
) -> Result<BatchOutcome, sqlx::Error> {
    let mut transaction = pool.begin().await?;
    let joined = create(&mut transaction, &batch.created).await?;
    rename(&mut transaction, &batch.renamed).await?;
    let left = remove(&mut transaction, &batch.deleted, now).await?;
    transaction.commit().await?;
    Ok(BatchOutcome { joined, left })
}

async fn create(
    transaction: &mut Transaction<'_, Postgres>,
    created: &[GuildSnapshot],
) -> Result<Vec<u64>, sqlx::Error> {
    if created.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = created.iter().map(|g| db_id(g.id)).collect();
    let names: Vec<&str> = created.iter().map(|g| g.name.as_str()).collect();
    let icons: Vec<Option<&str>> = created.iter().map(|g| g.icon_hash.as_deref()).collect();
    let members: Vec<i32> = created
        .iter()
        .map(|g| i32::try_from(g.member_count).unwrap_or(i32::MAX))
        .collect();
    let joined_at: Vec<DateTime<Utc>> = created.iter().map(|g| g.joined_at).collect();
    // language=PostgreSQL
    let joined: Vec<DbId> = sqlx::query_scalar(
        r#"
        WITH input AS (
            SELECT * FROM UNNEST($1::int8[], $2::text[], $3::text[], $4::int4[], $5::timestamptz[])
                AS i(id, name, icon_hash, member_count, joined_at)
        ),
        -- By the primary key (`= ANY`): joined to `input`, the planner
        -- hashed the whole table for every batch (a scan of 100,000 rows
        -- per 2,000 events at a restart).
        previous AS (
            SELECT g.id, g.left_at IS NULL AS active FROM guilds g WHERE g.id = ANY($1::int8[])
        ),
        upserted AS (
            INSERT INTO guilds (id, name, icon_hash, member_count, joined_at, left_at, updated_at)
            SELECT id, name, icon_hash, member_count, joined_at, NULL, now() FROM input
            ON CONFLICT (id) DO UPDATE
               SET name = EXCLUDED.name, icon_hash = EXCLUDED.icon_hash,
                   member_count = EXCLUDED.member_count, joined_at = EXCLUDED.joined_at,
                   left_at = NULL, updated_at = now()
            RETURNING id
        ),
        settings AS (
            INSERT INTO guild_settings (guild_id) SELECT id FROM upserted
            ON CONFLICT (guild_id) DO NOTHING
        ),
        joined AS (
            SELECT i.* FROM input i LEFT JOIN previous p USING (id) WHERE p.active IS NOT TRUE
        ),
        logged AS (
            INSERT INTO system_logs (severity, event_type, guild_id, message)
            SELECT 'info', 'guild_join', id,
                   'Joined server ' || name || ' (' || id || ', ' || member_count || ' members)'
              FROM joined
        )
        SELECT id FROM joined
        "#,
    )
    .bind(&ids)
    .bind(&names)
    .bind(&icons)
    .bind(&members)
    .bind(&joined_at)
    .fetch_all(&mut **transaction)
    .await?;
    Ok(joined.into_iter().map(u64::from).collect())
}

async fn rename(
    transaction: &mut Transaction<'_, Postgres>,
    renamed: &[(u64, String, Option<String>)],
) -> Result<(), sqlx::Error> {
    if renamed.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = renamed.iter().map(|(id, _, _)| db_id(*id)).collect();
    let names: Vec<&str> = renamed.iter().map(|(_, name, _)| name.as_str()).collect();
    let icons: Vec<Option<&str>> = renamed.iter().map(|(_, _, icon)| icon.as_deref()).collect();
    // language=PostgreSQL
    sqlx::query(
        "UPDATE guilds g SET name = u.name, icon_hash = u.icon_hash, updated_at = now()
           FROM UNNEST($1::int8[], $2::text[], $3::text[]) AS u(id, name, icon_hash)
          WHERE g.id = u.id",
    )
    .bind(&ids)
    .bind(&names)
    .bind(&icons)
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

async fn remove(
    transaction: &mut Transaction<'_, Postgres>,
    deleted: &[u64],
    now: DateTime<Utc>,
) -> Result<Vec<u64>, sqlx::Error> {
    if deleted.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = deleted.iter().map(|id| db_id(*id)).collect();
    // language=PostgreSQL
    let left: Vec<DbId> = sqlx::query_scalar(
        "WITH left_now AS (
             UPDATE guilds g SET left_at = $2, updated_at = now()
               FROM UNNEST($1::int8[]) AS d(id)
              WHERE g.id = d.id AND g.left_at IS NULL
             RETURNING g.id
         ),
         logged AS (
             INSERT INTO system_logs (severity, event_type, guild_id, message)
             SELECT 'info', 'guild_leave', id, 'Left server ' || id FROM left_now
         )
         SELECT id FROM left_now",
    )
    .bind(&ids)
    .bind(now)
    .fetch_all(&mut **transaction)
    .await?;
    Ok(left.into_iter().map(u64::from).collect())
}
