//! Why the bot may fail in one server, for `/admin server`: whether it can
//! post in the server's broadcast channel (the permission snapshot's
//! verdict, naming what is missing), the shard that holds the server and
//! whether it is connected, and whether the server or its owner is blocked.

use chrono::{DateTime, TimeDelta, Utc};
use serenity::all::ConnectionStage;

use crate::broadcast::gate::{Verdict, judge};
use crate::panel::AdminPanel;
use crate::permissions::Need;
use crate::store::blocklist::BlockKind;
use crate::store::health::{InstanceRow, running_instances};
use crate::store::permission_targets;
use crate::store::servers::GuildRow;
use crate::telemetry::heartbeat::STALE_AFTER;
use crate::ui::text::discord_time;

/// One line each: the broadcast channel, the shard, the blocklist.
pub async fn reach(
    panel: &AdminPanel,
    server: &GuildRow,
    now: DateTime<Utc>,
) -> Result<Vec<String>, sqlx::Error> {
    let guild = server.id;
    let broadcast = broadcast_line(panel, guild, server.broadcast_channel_id, now).await?;
    let instances = running_instances(&panel.pool).await?;
    let connected_here: Vec<u32> = panel
        .health
        .shards()
        .await
        .into_iter()
        .filter(|shard| shard.stage == ConnectionStage::Connected)
        .map(|shard| shard.id)
        .collect();
    let shard = shard_line(guild, &instances, panel.instance_id, &connected_here, now);
    let blocked = blocked_line(
        panel.blocked.contains(BlockKind::Server, guild),
        server
            .owner_id
            .map(|owner| (owner, panel.blocked.contains(BlockKind::User, owner))),
    );
    Ok(vec![broadcast, shard, blocked])
}

async fn broadcast_line(
    panel: &AdminPanel,
    guild: u64,
    channel: Option<u64>,
    now: DateTime<Utc>,
) -> Result<String, sqlx::Error> {
    let Some(channel) = channel else {
        return Ok("Broadcasts: no broadcast channel set, so none arrive here".to_owned());
    };
    let snapshots = permission_targets::targets(&panel.pool, &[(guild, channel)]).await?;
    let Some(snapshot) = snapshots.first() else {
        return Ok(format!(
            "Broadcasts: <#{channel}>, permissions not known yet (no snapshot since the upgrade): a broadcast is tried"
        ));
    };
    Ok(match judge(snapshot, Need::PostEmbed, now) {
        Verdict::Go => format!("Broadcasts: ✅ can post in <#{channel}>"),
        refused => format!("Broadcasts: ❌ {}", refused.reason().unwrap_or_default()),
    })
}

/// The shard of `guild` among the running processes' shards, who holds it
/// and whether it is connected (this process's live state, another's as of
/// its last heartbeat).
pub fn shard_line(
    guild: u64,
    instances: &[InstanceRow],
    this_instance: i64,
    connected_here: &[u32],
    now: DateTime<Utc>,
) -> String {
    let Some(count) = instances
        .iter()
        .filter_map(|instance| instance.shard_count)
        .find(|count| *count > 0)
    else {
        return "Shard: not known (no running process has reported its shards)".to_owned();
    };
    let shard = ((guild >> 22) % count as u64) as i32;
    let Some(holder) = instances
        .iter()
        .find(|instance| instance.shard_ids.contains(&shard))
    else {
        return format!("Shard {shard} of {count}: ❌ no running process holds it");
    };
    let stale =
        now - holder.last_heartbeat_at > TimeDelta::from_std(STALE_AFTER).unwrap_or(TimeDelta::MAX);
    let state = if holder.id == this_instance {
        if connected_here.contains(&(shard as u32)) {
            "✅ connected".to_owned()
        } else {
            "❌ not connected".to_owned()
        }
    } else {
        match &holder.connected_shards {
            _ if stale => format!(
                "❌ its process is stale (heartbeat {})",
                discord_time(holder.last_heartbeat_at, 'R')
            ),
            Some(connected) if connected.contains(&shard) => format!(
                "✅ connected at its process's heartbeat {}",
                discord_time(holder.last_heartbeat_at, 'R')
            ),
            Some(_) => format!(
                "❌ not connected at its process's heartbeat {}",
                discord_time(holder.last_heartbeat_at, 'R')
            ),
            None => "connection not reported by its process".to_owned(),
        }
    };
    format!(
        "Shard {shard} of {count}, held by `{}` pid {}: {state}",
        crate::ui::text::truncate(&holder.host, 40).replace('`', "'"),
        holder.pid
    )
}

/// Whether the server, or its owner, is on the blocklist.
pub fn blocked_line(server_blocked: bool, owner: Option<(u64, bool)>) -> String {
    let owner_text = match owner {
        Some((owner, true)) => format!("⛔ its owner <@{owner}> is blocked"),
        Some((owner, false)) => format!("its owner <@{owner}> is not blocked"),
        None => "its owner is not known yet".to_owned(),
    };
    if server_blocked {
        format!("Blocklist: ⛔ this server is blocked (the bot leaves it); {owner_text}")
    } else {
        format!("Blocklist: this server is not blocked; {owner_text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(id: i64, shards: Vec<i32>, connected: Option<Vec<i32>>, age: i64) -> InstanceRow {
        let now = Utc::now();
        InstanceRow {
            id,
            host: "host-a".into(),
            pid: 7,
            shard_ids: shards,
            shard_count: Some(2),
            started_at: now,
            last_heartbeat_at: now - TimeDelta::seconds(age),
            connected_shards: connected,
        }
    }

    #[test]
    fn the_shard_is_found_and_its_connection_read_from_its_holder() {
        let now = Utc::now();
        // Shard 1 of 2: (id >> 22) % 2 == 1.
        let guild = 1u64 << 22;
        let here = [instance(1, vec![1], None, 0)];
        assert!(shard_line(guild, &here, 1, &[1], now).ends_with("✅ connected"));
        assert!(shard_line(guild, &here, 1, &[], now).ends_with("❌ not connected"));
        let elsewhere = [instance(2, vec![1], Some(vec![1]), 5)];
        assert!(
            shard_line(guild, &elsewhere, 1, &[], now)
                .contains("✅ connected at its process's heartbeat")
        );
        let down = [instance(2, vec![1], Some(vec![]), 5)];
        assert!(shard_line(guild, &down, 1, &[], now).contains("❌ not connected at"));
        let stale = [instance(2, vec![1], Some(vec![1]), 600)];
        assert!(shard_line(guild, &stale, 1, &[], now).contains("its process is stale"));
        let nobody = [instance(2, vec![0], Some(vec![0]), 5)];
        assert_eq!(
            shard_line(guild, &nobody, 1, &[], now),
            "Shard 1 of 2: ❌ no running process holds it"
        );
        assert!(shard_line(guild, &[], 1, &[], now).starts_with("Shard: not known"));
    }

    #[test]
    fn a_blocked_server_or_owner_is_said_so() {
        assert!(blocked_line(true, Some((5, false))).contains("⛔ this server is blocked"));
        assert!(blocked_line(false, Some((5, true))).contains("⛔ its owner <@5> is blocked"));
        assert_eq!(
            blocked_line(false, None),
            "Blocklist: this server is not blocked; its owner is not known yet"
        );
    }
}
