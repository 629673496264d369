//! Periodic duties one process does for all (`periodic_duties`, migration
//! 0022): whichever process claims a due duty first runs that pass; the
//! others find it not due. A claim is one `UPDATE`, so it needs no session
//! state (no advisory lock) and works behind a transaction-mode pooler.

use std::time::Duration;

use sqlx::PgPool;

/// The pass that deletes old rows and recounts module adoption.
pub const RETENTION: &str = "retention";

/// Claims `duty` for `instance_id` when it is due, moving it `every` into
/// the future; true when this process won and should run the pass now. A
/// process that dies mid-pass leaves the rest to the next one.
pub async fn claim_if_due(
    pool: &PgPool,
    duty: &str,
    instance_id: i64,
    every: Duration,
) -> Result<bool, sqlx::Error> {
    // language=PostgreSQL
    let claimed = sqlx::query(
        "UPDATE periodic_duties
            SET due_at = now() + make_interval(secs => $3), last_run_by = $2, last_run_at = now()
          WHERE duty = $1 AND due_at <= now()",
    )
    .bind(duty)
    .bind(instance_id)
    .bind(every.as_secs_f64())
    .execute(pool)
    .await?;
    Ok(claimed.rows_affected() == 1)
}

/// Who ran `duty` last (a `bot_instances` id), and when it is next due.
pub async fn last_run(
    pool: &PgPool,
    duty: &str,
) -> Result<Option<(Option<i64>, chrono::DateTime<chrono::Utc>)>, sqlx::Error> {
    // language=PostgreSQL
    sqlx::query_as("SELECT last_run_by, due_at FROM periodic_duties WHERE duty = $1")
        .bind(duty)
        .fetch_optional(pool)
        .await
}
