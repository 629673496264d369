//! Who a broadcast is for, as stored: each filter is optional and every
//! filter given must hold (none: every active server). One SQL condition,
//! `IN_AUDIENCE`, decides membership for the dry run and for the start of
//! delivery alike, so the preview's reach is what the report targets.

use serde::{Deserialize, Serialize};

/// The audience columns of `broadcasts` (also what a stored view keeps
/// between the command and the form's submit).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Audience {
    /// Servers whose language is this code (servers without settings are `en`).
    pub audience_language: Option<String>,
    /// Servers with this module enabled.
    pub audience_module: Option<String>,
    /// Servers with at least this many members.
    pub audience_min_members: Option<i32>,
    /// Only these servers (empty: no such filter).
    #[sqlx(try_from = "crate::store::DbIds")]
    pub audience_guild_ids: Vec<u64>,
}

impl Audience {
    /// Every active server.
    pub fn is_everyone(&self) -> bool {
        *self == Self::default()
    }

    /// The explicit server list as PostgreSQL takes it: NULL for none.
    pub(super) fn guild_ids_param(&self) -> Option<Vec<i64>> {
        (!self.audience_guild_ids.is_empty()).then(|| {
            self.audience_guild_ids
                .iter()
                .map(|id| crate::store::db_id(*id))
                .collect()
        })
    }
}

/// The select list reading an [`Audience`] from `broadcasts`.
pub(super) const AUDIENCE_COLUMNS: &str =
    "audience_language, audience_module, audience_min_members,
        coalesce(audience_guild_ids, '{}') AS audience_guild_ids";

/// Whether server `g` (settings `s`, possibly NULL) belongs to the audience
/// in row `a` (its four `audience_*` columns, NULL where not given). A
/// blocked server never does, even while the bot is still leaving it.
pub(super) const IN_AUDIENCE: &str = "NOT EXISTS (SELECT 1 FROM blocklist b WHERE b.kind = 'server' AND b.id = g.id)
    AND (a.audience_language IS NULL OR coalesce(s.language, 'en') = a.audience_language)
    AND (a.audience_module IS NULL OR EXISTS (
         SELECT 1 FROM cog_settings c WHERE c.guild_id = g.id AND c.module = a.audience_module AND c.enabled))
    AND (a.audience_min_members IS NULL OR g.member_count >= a.audience_min_members)
    AND (a.audience_guild_ids IS NULL OR g.id = ANY (a.audience_guild_ids))";

/// The ids in `ids` that are not active servers of the bot.
pub async fn not_active(pool: &sqlx::PgPool, ids: &[u64]) -> Result<Vec<u64>, sqlx::Error> {
    let wanted: Vec<i64> = ids.iter().map(|id| crate::store::db_id(*id)).collect();
    // language=PostgreSQL
    let missing: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM unnest($1::bigint[]) AS wanted(id)
          WHERE NOT EXISTS (SELECT 1 FROM guilds g WHERE g.id = wanted.id AND g.left_at IS NULL)
          ORDER BY id",
    )
    .bind(&wanted)
    .fetch_all(pool)
    .await?;
    Ok(missing.into_iter().map(|id| id as u64).collect())
}
