//! Plain async functions over `&PgPool`, one file per table family. No serenity
//! models here (the permission snapshot's `Permissions` bitflags aside), and
//! no domain logic: functions take and return plain rows.
//! Discord ids cross this boundary as `u64`; they are converted to and from
//! PostgreSQL's BIGINT here, in one place (`db_id` going in, [`DbId`] and
//! [`NullableDbId`] coming out).

pub mod alert_sources;
pub mod alerts;
pub mod blocklist;
pub mod broadcasts;
pub mod command_stats;
pub mod developers;
pub mod duties;
pub mod forced_leaves;
pub mod guild_batches;
pub mod guilds;
pub mod health;
pub mod identify_slots;
pub mod instances;
pub mod latency;
pub mod logs;
pub mod maintenance;
pub mod managers;
pub mod modules;
pub mod notified;
pub mod permission_snapshots;
pub mod permission_targets;
pub mod servers;
pub mod settings;
pub mod trends;
pub mod usage;
pub mod views;

use sqlx::error::BoxDynError;
use sqlx::postgres::{PgTypeInfo, PgValueRef};
use sqlx::{Decode, Postgres, Type, ValueRef as _};

/// Discord ids are stored as BIGINT. Snowflakes stay below 2^63 until 2084, and
/// every id we store came from Discord or passed config validation.
pub(crate) fn db_id(id: u64) -> i64 {
    id as i64
}

/// A Discord id read from a BIGINT column; rows expose it as `u64` with
/// `#[sqlx(try_from = "DbId")]`. A negative value (never written by us) is a
/// decode error, not a silent wrap-around.
pub struct DbId(u64);

/// [`DbId`] for a nullable column.
pub struct NullableDbId(Option<u64>);

/// [`DbId`] for a BIGINT[] column.
pub struct DbIds(Vec<u64>);

impl Type<Postgres> for DbId {
    fn type_info() -> PgTypeInfo {
        <i64 as Type<Postgres>>::type_info()
    }
}

impl Type<Postgres> for NullableDbId {
    fn type_info() -> PgTypeInfo {
        <i64 as Type<Postgres>>::type_info()
    }
}

impl Type<Postgres> for DbIds {
    fn type_info() -> PgTypeInfo {
        <Vec<i64> as Type<Postgres>>::type_info()
    }
}

impl<'r> Decode<'r, Postgres> for DbId {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Self(u64::try_from(<i64 as Decode<Postgres>>::decode(
            value,
        )?)?))
    }
}

impl<'r> Decode<'r, Postgres> for NullableDbId {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        if value.is_null() {
            return Ok(Self(None));
        }
        Ok(Self(Some(DbId::decode(value)?.0)))
    }
}

impl<'r> Decode<'r, Postgres> for DbIds {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        let raw = <Vec<i64> as Decode<Postgres>>::decode(value)?;
        let ids = raw
            .into_iter()
            .map(u64::try_from)
            .collect::<Result<_, _>>()?;
        Ok(Self(ids))
    }
}

impl From<DbId> for u64 {
    fn from(id: DbId) -> Self {
        id.0
    }
}

impl From<NullableDbId> for Option<u64> {
    fn from(id: NullableDbId) -> Self {
        id.0
    }
}

impl From<DbIds> for Vec<u64> {
    fn from(ids: DbIds) -> Self {
        ids.0
    }
}

/// Runs one retention `DELETE` (`$1` the cutoff time, `$2` the batch size)
/// and says how many rows went.
async fn delete_batch(
    pool: &sqlx::PgPool,
    sql: &'static str,
    cutoff: chrono::DateTime<chrono::Utc>,
    batch: i64,
) -> Result<u64, sqlx::Error> {
    let result = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(cutoff)
        .bind(batch)
        .execute(pool)
        .await?;
    Ok(result.rows_affected())
}

/// A case-insensitive "contains" pattern for ILIKE in which `%`, `_` and `\`
/// are literal characters, not wildcards.
pub(crate) fn like_pattern(search: &str) -> String {
    let escaped = search
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}
