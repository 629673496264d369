//! The permission snapshot in PostgreSQL: the server-wide facts in columns
//! of `guilds` (written by the guild-event writer's upsert, see
//! [`super::guild_batches`]), the overwrites of the channels the panel posts
//! in in `channel_permissions` (migration 0024). Every process reads what the
//! process holding the server's shard wrote.
//!
//! Encodings: permissions as BIGINT (Discord's bits stay below 2^63), roles
//! as a JSONB object `{"role id": permissions}` (one role set or removed by
//! one operator), overwrites as a flat BIGINT[] of (target kind, id, allow,
//! deny), since PostgreSQL arrays cannot be ragged.

use chrono::{DateTime, Utc};
use serenity::all::Permissions;
use sqlx::{Executor, PgPool, Postgres};

use super::db_id;
use crate::permissions::snapshot::{
    BotMember, ChannelSnapshot, RolePermissions, ServerChange, ServerPermissions,
};
use crate::permissions::{ChannelKind, Overwrite, OverwriteTarget};

/// Permissions as stored.
pub fn bits(permissions: Permissions) -> i64 {
    permissions.bits() as i64
}

fn from_bits(bits: i64) -> Permissions {
    Permissions::from_bits_truncate(bits as u64)
}

/// Roles as the JSONB object stored (as text, cast in SQL).
pub fn roles_json(roles: &RolePermissions) -> String {
    let object: serde_json::Map<String, serde_json::Value> = roles
        .iter()
        .map(|(id, permissions)| (id.to_string(), bits(permissions).into()))
        .collect();
    serde_json::Value::Object(object).to_string()
}

fn roles_from_json(value: &serde_json::Value) -> RolePermissions {
    value
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(id, bits)| Some((id.parse().ok()?, from_bits(bits.as_i64()?))))
        .collect()
}

/// An array literal (`{1,2,3}`) for a text parameter cast to `int8[]`: the
/// batch statements take one ragged array per row, which `UNNEST` cannot.
pub fn array_literal(values: impl IntoIterator<Item = i64>) -> String {
    let items: Vec<String> = values.into_iter().map(|v| v.to_string()).collect();
    format!("{{{}}}", items.join(","))
}

/// Overwrites as stored: (0 role / 1 member, id, allow, deny) each.
pub fn overwrites_literal(overwrites: &[Overwrite]) -> String {
    array_literal(overwrites.iter().flat_map(|overwrite| {
        let (kind, id) = match overwrite.target {
            OverwriteTarget::Role(id) => (0, id),
            OverwriteTarget::Member(id) => (1, id),
        };
        [kind, db_id(id), bits(overwrite.allow), bits(overwrite.deny)]
    }))
}

pub(super) fn overwrites_from(flat: &[i64]) -> Vec<Overwrite> {
    flat.chunks_exact(4)
        .map(|o| Overwrite {
            target: if o[0] == 1 {
                OverwriteTarget::Member(o[1] as u64)
            } else {
                OverwriteTarget::Role(o[1] as u64)
            },
            allow: from_bits(o[2]),
            deny: from_bits(o[3]),
        })
        .collect()
}

/// A channel kind as stored.
pub fn kind_code(kind: ChannelKind) -> i16 {
    match kind {
        ChannelKind::Messages => 0,
        ChannelKind::Thread => 1,
        ChannelKind::NoMessages => 2,
    }
}

pub(super) fn kind_from(code: i16) -> ChannelKind {
    match code {
        0 => ChannelKind::Messages,
        1 => ChannelKind::Thread,
        _ => ChannelKind::NoMessages,
    }
}

/// The server-wide facts of `guild`, if a snapshot is known (the bot's
/// member included) and the bot is there.
pub async fn server(pool: &PgPool, guild: u64) -> Result<Option<ServerPermissions>, sqlx::Error> {
    // language=PostgreSQL
    let row: Option<ServerRow> = sqlx::query_as(
        "SELECT owner_id, everyone_permissions, role_permissions, bot_user_id, bot_role_ids,
                bot_timed_out_until
           FROM guilds WHERE id = $1 AND left_at IS NULL",
    )
    .bind(db_id(guild))
    .fetch_optional(pool)
    .await?;
    Ok(row.and_then(ServerRow::known))
}

/// The server-wide columns as read; [`ServerRow::known`] when complete.
#[derive(Debug, sqlx::FromRow)]
pub struct ServerRow {
    owner_id: Option<i64>,
    everyone_permissions: Option<i64>,
    role_permissions: Option<serde_json::Value>,
    bot_user_id: Option<i64>,
    bot_role_ids: Option<Vec<i64>>,
    bot_timed_out_until: Option<DateTime<Utc>>,
}

impl ServerRow {
    /// The snapshot, if every part of it is known.
    pub fn known(self) -> Option<ServerPermissions> {
        Some(ServerPermissions {
            owner_id: self.owner_id? as u64,
            everyone: from_bits(self.everyone_permissions?),
            roles: roles_from_json(&self.role_permissions?),
            bot: Some(BotMember {
                user_id: self.bot_user_id? as u64,
                roles: self.bot_role_ids?.into_iter().map(|id| id as u64).collect(),
                timed_out_until: self.bot_timed_out_until,
            }),
        })
    }
}

/// A channel's snapshot and whether it was deleted; `None` when none is kept.
pub async fn channel(
    pool: &PgPool,
    channel: u64,
) -> Result<Option<(ChannelSnapshot, bool)>, sqlx::Error> {
    type Row = (i64, String, i16, Option<i64>, Vec<i64>, bool);
    // language=PostgreSQL
    let row: Option<Row> = sqlx::query_as(
        "SELECT guild_id, name, kind, parent_id, overwrites, deleted_at IS NOT NULL
           FROM channel_permissions WHERE channel_id = $1",
    )
    .bind(db_id(channel))
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(guild, name, kind, parent, overwrites, deleted)| {
        let snapshot = ChannelSnapshot {
            id: channel,
            guild_id: guild as u64,
            name,
            kind: kind_from(kind),
            parent_id: parent.map(|id| id as u64),
            overwrites: overwrites_from(&overwrites),
        };
        (snapshot, deleted)
    }))
}

/// Writes what a fresh `GET` of the server, the bot's member and `channels`
/// said (when a broadcast channel is saved): the snapshot is then current
/// even if this process does not hold the server's shard.
pub async fn save(
    pool: &PgPool,
    guild: u64,
    server: &ServerPermissions,
    channels: &[ChannelSnapshot],
) -> Result<(), sqlx::Error> {
    let mut transaction = pool.begin().await?;
    let mut change = ServerChange {
        owner_id: Some(server.owner_id),
        everyone: Some(server.everyone),
        roles_replaced: Some(server.roles.clone()),
        ..ServerChange::default()
    };
    change.bot.clone_from(&server.bot);
    apply_change(&mut *transaction, guild, &change).await?;
    upsert_channels(&mut *transaction, channels).await?;
    transaction.commit().await
}

/// Applies one server's folded change: replaced roles, then those set, then
/// those removed (see [`ServerChange`]). A role change with no stored roles
/// (no snapshot yet) leaves them unknown.
pub async fn apply_change<'e>(
    executor: impl Executor<'e, Database = Postgres>,
    guild: u64,
    change: &ServerChange,
) -> Result<(), sqlx::Error> {
    let removed: Vec<String> = change.roles_removed.iter().map(u64::to_string).collect();
    // language=PostgreSQL
    // Any change of the server's roles or of the bot's member is news
    // about its channels: a 403 seen before no longer holds them back.
    sqlx::query(
        "WITH cleared AS (
             UPDATE channel_permissions SET refused_at = NULL
              WHERE guild_id = $1 AND refused_at IS NOT NULL
         )
         UPDATE guilds
            SET owner_id = COALESCE($2, owner_id),
                everyone_permissions = COALESCE($3, everyone_permissions),
                role_permissions = (COALESCE($4::jsonb, role_permissions) || $5::jsonb) - $6::text[],
                bot_role_ids = CASE WHEN $7 THEN $8::text::int8[] ELSE bot_role_ids END,
                bot_timed_out_until = CASE WHEN $7 THEN $9 ELSE bot_timed_out_until END,
                bot_user_id = CASE WHEN $7 THEN $10 ELSE bot_user_id END
          WHERE id = $1",
    )
    .bind(db_id(guild))
    .bind(change.owner_id.map(db_id))
    .bind(change.everyone.map(bits))
    .bind(change.roles_replaced.as_ref().map(roles_json))
    .bind(roles_json(&change.roles_set))
    .bind(&removed)
    .bind(change.bot.is_some())
    .bind(
        change
            .bot
            .as_ref()
            .map(|bot| array_literal(bot.roles.iter().map(|id| db_id(*id)))),
    )
    .bind(change.bot.as_ref().and_then(|bot| bot.timed_out_until))
    .bind(change.bot.as_ref().map(|bot| db_id(bot.user_id)))
    .execute(executor)
    .await?;
    Ok(())
}

/// Inserts or refreshes channel snapshots (a deleted one comes back).
pub async fn upsert_channels<'e>(
    executor: impl Executor<'e, Database = Postgres>,
    channels: &[ChannelSnapshot],
) -> Result<(), sqlx::Error> {
    if channels.is_empty() {
        return Ok(());
    }
    let columns = ChannelColumns::of(channels);
    // language=PostgreSQL
    sqlx::query(
        "INSERT INTO channel_permissions (channel_id, guild_id, name, kind, parent_id, overwrites)
         SELECT id, guild_id, name, kind, parent_id, overwrites::int8[]
           FROM UNNEST($1::int8[], $2::int8[], $3::text[], $4::int2[], $5::int8[], $6::text[])
                AS u(id, guild_id, name, kind, parent_id, overwrites)
         ON CONFLICT (channel_id) DO UPDATE
            SET guild_id = EXCLUDED.guild_id, name = EXCLUDED.name, kind = EXCLUDED.kind,
                parent_id = EXCLUDED.parent_id, overwrites = EXCLUDED.overwrites,
                deleted_at = NULL, refused_at = NULL, updated_at = now()
          -- A restart resends every channel: an unchanged one is not rewritten.
          WHERE (channel_permissions.guild_id, channel_permissions.name, channel_permissions.kind,
                 channel_permissions.parent_id, channel_permissions.overwrites)
                IS DISTINCT FROM
                (EXCLUDED.guild_id, EXCLUDED.name, EXCLUDED.kind, EXCLUDED.parent_id,
                 EXCLUDED.overwrites)
             OR channel_permissions.deleted_at IS NOT NULL
             OR channel_permissions.refused_at IS NOT NULL",
    )
    .bind(&columns.ids)
    .bind(&columns.guilds)
    .bind(&columns.names)
    .bind(&columns.kinds)
    .bind(&columns.parents)
    .bind(&columns.overwrites)
    .execute(executor)
    .await?;
    Ok(())
}

/// Channel snapshots as the columns `UNNEST` takes.
pub struct ChannelColumns {
    /// Channel ids.
    pub ids: Vec<i64>,
    /// Their servers.
    pub guilds: Vec<i64>,
    /// Their names.
    pub names: Vec<String>,
    /// [`kind_code`]s.
    pub kinds: Vec<i16>,
    /// Threads' parents.
    pub parents: Vec<Option<i64>>,
    /// [`overwrites_literal`]s.
    pub overwrites: Vec<String>,
}

impl ChannelColumns {
    /// The columns of `channels`.
    pub fn of<'a>(channels: impl IntoIterator<Item = &'a ChannelSnapshot>) -> Self {
        let mut columns = Self {
            ids: Vec::new(),
            guilds: Vec::new(),
            names: Vec::new(),
            kinds: Vec::new(),
            parents: Vec::new(),
            overwrites: Vec::new(),
        };
        for channel in channels {
            columns.ids.push(db_id(channel.id));
            columns.guilds.push(db_id(channel.guild_id));
            columns.names.push(channel.name.clone());
            columns.kinds.push(kind_code(channel.kind));
            columns.parents.push(channel.parent_id.map(db_id));
            columns
                .overwrites
                .push(overwrites_literal(&channel.overwrites));
        }
        columns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_overwrites_read_back_as_written() {
        let roles = RolePermissions::from_iter([
            (1, Permissions::SEND_MESSAGES | Permissions::ADMINISTRATOR),
            (u64::MAX >> 2, Permissions::VIEW_CHANNEL),
        ]);
        let json: serde_json::Value = serde_json::from_str(&roles_json(&roles)).unwrap();
        assert_eq!(roles_from_json(&json), roles);

        let overwrites = vec![
            Overwrite {
                target: OverwriteTarget::Member(7),
                allow: Permissions::EMBED_LINKS,
                deny: Permissions::empty(),
            },
            Overwrite {
                target: OverwriteTarget::Role(8),
                allow: Permissions::empty(),
                deny: Permissions::SEND_MESSAGES_IN_THREADS,
            },
        ];
        let literal = overwrites_literal(&overwrites);
        let flat: Vec<i64> = literal
            .trim_matches(|c| c == '{' || c == '}')
            .split(',')
            .map(|v| v.parse().unwrap())
            .collect();
        assert_eq!(overwrites_from(&flat), overwrites);
        assert_eq!(overwrites_literal(&[]), "{}");
        for kind in [
            ChannelKind::Messages,
            ChannelKind::Thread,
            ChannelKind::NoMessages,
        ] {
            assert_eq!(kind_from(kind_code(kind)), kind);
        }
    }
}
