//! Guild events written in batches: a bot in 100,000 servers gets one
//! GUILD_CREATE per server at every start, and one statement per batch (not
//! per server) keeps that burst off the connections interactions need. Each
//! statement detects joins and leaves itself, against the rows as they were
//! before it, and writes their `guild_join` / `guild_leave` entries in the
//! same statement, so a restart logs nothing twice.

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, Transaction};

use super::guilds::GuildSnapshot;
use super::permission_snapshots::{self, ChannelColumns, array_literal, bits, roles_json};
use super::{DbId, db_id};
use crate::permissions::snapshot::{ChannelSnapshot, ServerChange};

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
    /// Roles, owner or the bot's member changed (servers not in `created`).
    pub server_changes: Vec<(u64, ServerChange)>,
    /// CHANNEL_UPDATE / THREAD_UPDATE: written where a snapshot is kept.
    pub channels_changed: Vec<ChannelSnapshot>,
    /// CHANNEL_DELETE / THREAD_DELETE: marked where a snapshot is kept.
    pub channels_deleted: Vec<u64>,
}

/// What a batch changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    pub joined: Vec<u64>,
    pub left: Vec<u64>,
}

/// Writes `batch` in one transaction: creates, then renames and permission
/// changes, then removals.
pub async fn apply(
    pool: &PgPool,
    batch: &GuildBatch,
    now: DateTime<Utc>,
) -> Result<BatchOutcome, sqlx::Error> {
    let mut transaction = pool.begin().await?;
    let joined = create(&mut transaction, &batch.created).await?;
    rename(&mut transaction, &batch.renamed).await?;
    // One statement a server: role edits come a few at a time, never in
    // a burst of thousands like GUILD_CREATE.
    for (guild, change) in &batch.server_changes {
        permission_snapshots::apply_change(&mut *transaction, *guild, change).await?;
    }
    change_channels(&mut transaction, &batch.channels_changed).await?;
    delete_channels(&mut transaction, &batch.channels_deleted).await?;
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
    let facts: Vec<_> = created.iter().map(|g| g.permissions.as_ref()).collect();
    let owners: Vec<Option<i64>> = facts.iter().map(|p| p.map(|p| db_id(p.owner_id))).collect();
    let everyone: Vec<Option<i64>> = facts.iter().map(|p| p.map(|p| bits(p.everyone))).collect();
    let roles: Vec<Option<String>> = facts
        .iter()
        .map(|p| p.map(|p| roles_json(&p.roles)))
        .collect();
    let bots: Vec<_> = facts
        .iter()
        .map(|p| p.and_then(|p| p.bot.as_ref()))
        .collect();
    let bot_roles: Vec<Option<String>> = bots
        .iter()
        .map(|bot| bot.map(|bot| array_literal(bot.roles.iter().map(|id| db_id(*id)))))
        .collect();
    let timeouts: Vec<Option<DateTime<Utc>>> = bots
        .iter()
        .map(|bot| bot.and_then(|bot| bot.timed_out_until))
        .collect();
    let bot_ids: Vec<Option<i64>> = bots
        .iter()
        .map(|bot| bot.map(|bot| db_id(bot.user_id)))
        .collect();
    // language=PostgreSQL
    let joined: Vec<DbId> = sqlx::query_scalar(
        r#"
        WITH input AS (
            SELECT * FROM UNNEST($1::int8[], $2::text[], $3::text[], $4::int4[], $5::timestamptz[],
                                 $6::int8[], $7::int8[], $8::text[], $9::text[], $10::timestamptz[],
                                 $11::int8[])
                AS i(id, name, icon_hash, member_count, joined_at,
                     owner_id, everyone, roles, bot_roles, timed_out_until, bot_user_id)
        ),
        -- By the primary key (`= ANY`): joined to `input`, the planner
        -- hashed the whole table for every batch (a scan of 100,000 rows
        -- per 2,000 events at a restart).
        previous AS (
            SELECT g.id, g.left_at IS NULL AS active FROM guilds g WHERE g.id = ANY($1::int8[])
        ),
        upserted AS (
            INSERT INTO guilds (id, name, icon_hash, member_count, joined_at, left_at, updated_at,
                                owner_id, everyone_permissions, role_permissions, bot_role_ids,
                                bot_timed_out_until, bot_user_id)
            SELECT id, name, icon_hash, member_count, joined_at, NULL, now(),
                   owner_id, everyone, roles::jsonb, bot_roles::int8[], timed_out_until, bot_user_id
              FROM input
            ON CONFLICT (id) DO UPDATE
               SET name = EXCLUDED.name, icon_hash = EXCLUDED.icon_hash,
                   member_count = EXCLUDED.member_count, joined_at = EXCLUDED.joined_at,
                   left_at = NULL, updated_at = now(),
                   owner_id = EXCLUDED.owner_id,
                   everyone_permissions = EXCLUDED.everyone_permissions,
                   role_permissions = EXCLUDED.role_permissions,
                   bot_role_ids = EXCLUDED.bot_role_ids,
                   bot_timed_out_until = EXCLUDED.bot_timed_out_until,
                   bot_user_id = EXCLUDED.bot_user_id
             -- A server that comes again unchanged (every one of them after
             -- a restart or a re-identify) is not rewritten: a rewrite is a
             -- new row version, WAL and vacuum work for 100,000 rows.
             WHERE guilds.left_at IS NOT NULL
                OR (guilds.name, guilds.icon_hash, guilds.member_count, guilds.joined_at,
                    guilds.owner_id, guilds.everyone_permissions, guilds.role_permissions,
                    guilds.bot_role_ids, guilds.bot_timed_out_until, guilds.bot_user_id)
                   IS DISTINCT FROM
                   (EXCLUDED.name, EXCLUDED.icon_hash, EXCLUDED.member_count, EXCLUDED.joined_at,
                    EXCLUDED.owner_id, EXCLUDED.everyone_permissions, EXCLUDED.role_permissions,
                    EXCLUDED.bot_role_ids, EXCLUDED.bot_timed_out_until, EXCLUDED.bot_user_id)
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
    .bind(&owners)
    .bind(&everyone)
    .bind(&roles)
    .bind(&bot_roles)
    .bind(&timeouts)
    .bind(&bot_ids)
    .fetch_all(&mut **transaction)
    .await?;
    // Only the channels the panel posts in (see `permission_snapshots`).
    let channels: Vec<ChannelSnapshot> = created
        .iter()
        .flat_map(|g| g.channels.iter().cloned())
        .collect();
    permission_snapshots::upsert_channels(&mut **transaction, &channels).await?;
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
          WHERE g.id = u.id AND (g.name, g.icon_hash) IS DISTINCT FROM (u.name, u.icon_hash)",
    )
    .bind(&ids)
    .bind(&names)
    .bind(&icons)
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

/// Refreshes the channels whose snapshot is kept; others are not the
/// panel's concern.
async fn change_channels(
    transaction: &mut Transaction<'_, Postgres>,
    channels: &[ChannelSnapshot],
) -> Result<(), sqlx::Error> {
    if channels.is_empty() {
        return Ok(());
    }
    let columns = ChannelColumns::of(channels);
    // language=PostgreSQL
    sqlx::query(
        "UPDATE channel_permissions c
            SET name = u.name, kind = u.kind, parent_id = u.parent_id,
                overwrites = u.overwrites::int8[], deleted_at = NULL, refused_at = NULL,
                updated_at = now()
           FROM UNNEST($1::int8[], $2::text[], $3::int2[], $4::int8[], $5::text[])
                AS u(id, name, kind, parent_id, overwrites)
          WHERE c.channel_id = u.id",
    )
    .bind(&columns.ids)
    .bind(&columns.names)
    .bind(&columns.kinds)
    .bind(&columns.parents)
    .bind(&columns.overwrites)
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

async fn delete_channels(
    transaction: &mut Transaction<'_, Postgres>,
    channels: &[u64],
) -> Result<(), sqlx::Error> {
    if channels.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = channels.iter().map(|id| db_id(*id)).collect();
    // language=PostgreSQL
    sqlx::query(
        "UPDATE channel_permissions SET deleted_at = now(), updated_at = now()
          WHERE channel_id = ANY($1::int8[]) AND deleted_at IS NULL",
    )
    .bind(&ids)
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
             UPDATE guilds g SET left_at = $2, updated_at = now(), bot_role_ids = NULL
               FROM UNNEST($1::int8[]) AS d(id)
              WHERE g.id = d.id AND g.left_at IS NULL
             RETURNING g.id
         ),
         -- A server rejoined sends its GUILD_CREATE again.
         forgotten AS (
             DELETE FROM channel_permissions c USING left_now l WHERE c.guild_id = l.id
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
