//! The permission snapshot of many request targets at once: the broadcast
//! worker reads one batch of claimed deliveries' servers and channels in one
//! statement before sending, and marks a channel Discord refused anyway.

use sqlx::PgPool;

use super::db_id;
use super::permission_snapshots::{ServerRow, kind_from, overwrites_from};
use crate::permissions::Overwrite;
use crate::permissions::snapshot::{ChannelSnapshot, ServerPermissions};

/// What is kept of one target: its server's facts (if complete), its
/// channel, and its parent's overwrites for a thread.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetSnapshot {
    /// The server the request is for.
    pub guild_id: u64,
    /// The server-wide facts, if every part is known.
    pub server: Option<ServerPermissions>,
    /// The channel.
    pub channel: ChannelSnapshot,
    /// A thread's parent's overwrites, if its snapshot is kept.
    pub parent_overwrites: Option<Vec<Overwrite>>,
    /// CHANNEL_DELETE (or missing from its GUILD_CREATE).
    pub deleted: bool,
    /// Discord answered 403 since the last event about it.
    pub refused: bool,
}

#[derive(sqlx::FromRow)]
struct Row {
    guild_id: i64,
    channel_id: i64,
    channel_guild: i64,
    name: String,
    kind: i16,
    parent_id: Option<i64>,
    overwrites: Vec<i64>,
    parent_overwrites: Option<Vec<i64>>,
    deleted: bool,
    refused: bool,
    #[sqlx(flatten)]
    server: ServerRow,
}

/// The snapshots of `targets` (server, channel); a target without a kept
/// channel is left out (the caller sends as before).
pub async fn targets(
    pool: &PgPool,
    targets: &[(u64, u64)],
) -> Result<Vec<TargetSnapshot>, sqlx::Error> {
    if targets.is_empty() {
        return Ok(Vec::new());
    }
    let guilds: Vec<i64> = targets.iter().map(|(g, _)| db_id(*g)).collect();
    let channels: Vec<i64> = targets.iter().map(|(_, c)| db_id(*c)).collect();
    // language=PostgreSQL
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT t.guild_id, t.channel_id, c.guild_id AS channel_guild, c.name, c.kind,
                c.parent_id, c.overwrites, p.overwrites AS parent_overwrites,
                c.deleted_at IS NOT NULL AS deleted, c.refused_at IS NOT NULL AS refused,
                g.owner_id, g.everyone_permissions, g.role_permissions, g.bot_user_id,
                g.bot_role_ids, g.bot_timed_out_until
           FROM UNNEST($1::int8[], $2::int8[]) AS t(guild_id, channel_id)
           JOIN channel_permissions c ON c.channel_id = t.channel_id
           LEFT JOIN channel_permissions p ON p.channel_id = c.parent_id
           LEFT JOIN guilds g ON g.id = t.guild_id AND g.left_at IS NULL",
    )
    .bind(&guilds)
    .bind(&channels)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        // A channel kept for another server is not this target's.
        .filter(|row| row.channel_guild == row.guild_id)
        .map(|row| TargetSnapshot {
            guild_id: row.guild_id as u64,
            channel: ChannelSnapshot {
                id: row.channel_id as u64,
                guild_id: row.channel_guild as u64,
                name: row.name,
                kind: kind_from(row.kind),
                parent_id: row.parent_id.map(|id| id as u64),
                overwrites: overwrites_from(&row.overwrites),
            },
            parent_overwrites: row.parent_overwrites.as_deref().map(overwrites_from),
            deleted: row.deleted,
            refused: row.refused,
            server: row.server.known(),
        })
        .collect())
}

/// Discord answered 403 for `channel` although the snapshot allowed it: no
/// request goes there until the next event about it. Only a kept channel
/// is marked.
pub async fn mark_refused(pool: &PgPool, channel: u64) -> Result<bool, sqlx::Error> {
    // language=PostgreSQL
    let marked = sqlx::query(
        "UPDATE channel_permissions SET refused_at = now()
          WHERE channel_id = $1 AND refused_at IS NULL",
    )
    .bind(db_id(channel))
    .execute(pool)
    .await?;
    Ok(marked.rows_affected() == 1)
}
