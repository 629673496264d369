//! Turns at Discord's identify limit, shared by every process through
//! `gateway_identify_slots` (migration 0021): one IDENTIFY per bucket per
//! `spacing`, whichever process runs the shard.

use std::time::Duration;

use sqlx::PgPool;

/// Takes the next turn of `bucket` (of `max_concurrency`), `spacing` after
/// the last one taken, and returns how long until it comes. One statement,
/// so two processes asking at once get turns `spacing` apart (and it works
/// behind PgBouncer in transaction mode).
pub async fn take_turn(
    pool: &PgPool,
    max_concurrency: u32,
    bucket: u32,
    spacing: Duration,
) -> Result<Duration, sqlx::Error> {
    // language=PostgreSQL
    let wait: f64 = sqlx::query_scalar(
        "INSERT INTO gateway_identify_slots AS s (max_concurrency, bucket, next_at)
         VALUES ($1, $2, clock_timestamp() + make_interval(secs => $3))
         ON CONFLICT (max_concurrency, bucket) DO UPDATE
            SET next_at = greatest(s.next_at, clock_timestamp()) + make_interval(secs => $3)
         RETURNING extract(epoch FROM next_at - make_interval(secs => $3) - clock_timestamp())::float8",
    )
    .bind(max_concurrency as i32)
    .bind(bucket as i32)
    .bind(spacing.as_secs_f64())
    .fetch_one(pool)
    .await?;
    Ok(Duration::from_secs_f64(wait.max(0.0)))
}
