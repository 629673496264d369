//! Gateway payloads a test pushes through the fake. serenity silently drops a
//! payload it cannot deserialize, so every builder here is unit-tested by
//! deserializing its output into serenity's own types.

use super::discord::{ACTION_ROW, BUTTON, CHANNEL_OPTION, TEXT_INPUT, USER_OPTION};
use serde_json::{Value, json};

pub const APPLICATION_ID: u64 = 100_000_000_000_000_001;
pub const BOT_USER_ID: u64 = 100_000_000_000_000_001;
pub const TIMESTAMP: &str = "2026-01-01T00:00:00.000000+00:00";

pub fn user(id: u64, bot: bool) -> Value {
    json!({
        "id": id.to_string(), "username": format!("user{id}"), "discriminator": "0",
        "global_name": null, "avatar": null, "bot": bot,
    })
}

pub fn bot_user() -> Value {
    user(BOT_USER_ID, true)
}

/// READY for `shard`, listing `guilds` as unavailable (as Discord does: their
/// GUILD_CREATEs follow).
pub fn ready(shard: [u16; 2], resume_url: &str, guilds: &[u64]) -> Value {
    let guilds: Vec<Value> = guilds
        .iter()
        .map(|id| json!({ "id": id.to_string(), "unavailable": true }))
        .collect();
    json!({
        "v": 10, "user": bot_user(), "guilds": guilds, "session_id": format!("session-{}", shard[0]),
        "resume_gateway_url": resume_url, "shard": shard,
        "application": { "id": APPLICATION_ID.to_string(), "flags": 0 },
    })
}

pub fn guild_create(id: u64, name: &str, member_count: u64, icon: Option<&str>) -> Value {
    json!({
        "id": id.to_string(), "name": name, "icon": icon, "splash": null, "discovery_splash": null,
        "owner_id": "1", "afk_channel_id": null, "afk_timeout": 300, "verification_level": 0,
        "default_message_notifications": 0, "explicit_content_filter": 0,
        "roles": [{
            "id": id.to_string(), "name": "@everyone", "color": 0, "colors": { "primary_color": 0 },
            "hoist": false, "icon": null, "unicode_emoji": null, "position": 0,
            "permissions": "0", "managed": false, "mentionable": false, "flags": 0,
        }],
        "emojis": [], "features": [], "mfa_level": 0, "application_id": null,
        "system_channel_id": null, "system_channel_flags": 0, "rules_channel_id": null,
        "vanity_url_code": null, "description": null, "banner": null, "premium_tier": 0,
        "preferred_locale": "en-US", "public_updates_channel_id": null, "nsfw_level": 0,
        "stickers": [], "premium_progress_bar_enabled": false,
        "joined_at": TIMESTAMP, "large": false, "unavailable": false, "member_count": member_count,
        "voice_states": [], "members": [], "channels": [], "threads": [], "presences": [],
        "stage_instances": [], "guild_scheduled_events": [],
    })
}

/// GUILD_UPDATE carries a partial guild (no member count, no join date).
pub fn guild_update(id: u64, name: &str, icon: Option<&str>) -> Value {
    let mut guild = guild_create(id, name, 0, icon);
    for key in [
        "joined_at",
        "large",
        "member_count",
        "voice_states",
        "members",
        "channels",
        "threads",
        "presences",
        "stage_instances",
        "guild_scheduled_events",
        "unavailable",
    ] {
        guild.as_object_mut().unwrap().remove(key);
    }
    guild
}

pub fn guild_delete(id: u64, unavailable: bool) -> Value {
    if unavailable {
        json!({ "id": id.to_string(), "unavailable": true })
    } else {
        json!({ "id": id.to_string() })
    }
}

fn member(user_id: u64, bot: bool) -> Value {
    json!({
        "user": user(user_id, bot), "nick": null, "roles": [], "joined_at": TIMESTAMP,
        "deaf": false, "mute": false, "flags": 0, "pending": false, "permissions": "8",
    })
}

fn interaction_base(kind: u8, id: u64, token: &str, guild_id: Option<u64>, user_id: u64) -> Value {
    let mut base = json!({
        "id": id.to_string(), "application_id": APPLICATION_ID.to_string(), "type": kind,
        "token": token, "version": 1, "channel_id": "300000000000000001", "locale": "en-US",
        "entitlements": [], "attachment_size_limit": 10_485_760, "app_permissions": "0",
        "authorizing_integration_owners": {}, "context": if guild_id.is_some() { 0 } else { 1 },
    });
    match guild_id {
        Some(guild) => {
            base["guild_id"] = json!(guild.to_string());
            base["guild_locale"] = json!("en-US");
            base["member"] = member(user_id, false);
        }
        None => base["user"] = user(user_id, false),
    }
    base
}

/// A slash command. `path` is the command and its subcommands, e.g.
/// `["admin", "stats"]`; `options` belong to the innermost subcommand.
pub fn slash_command(
    interaction_id: u64,
    token: &str,
    guild_id: Option<u64>,
    user_id: u64,
    path: &[&str],
    options: Vec<(&str, Value)>,
) -> Value {
    let mut leaf: Vec<Value> = options
        .into_iter()
        .map(|(name, value)| {
            let kind = match &value {
                Value::Bool(_) => 5,
                Value::Number(n) if n.is_i64() || n.is_u64() => 4,
                Value::Number(_) => 10,
                _ => 3,
            };
            json!({ "name": name, "type": kind, "value": value })
        })
        .collect();
    for (depth, name) in path.iter().enumerate().skip(1).rev() {
        let kind = if depth == 1 && path.len() == 3 { 2 } else { 1 };
        leaf = vec![json!({ "name": name, "type": kind, "options": leaf })];
    }
    let mut interaction = interaction_base(2, interaction_id, token, guild_id, user_id);
    interaction["data"] = json!({
        "id": "400000000000000001", "name": path[0], "type": 1, "options": leaf,
    });
    interaction
}

/// An autocomplete request while the user types `partial` into option
/// `option` of the command at `path`.
pub fn autocomplete(
    interaction_id: u64,
    token: &str,
    guild_id: Option<u64>,
    user_id: u64,
    path: &[&str],
    option: &str,
    partial: &str,
) -> Value {
    let mut interaction = slash_command(
        interaction_id,
        token,
        guild_id,
        user_id,
        path,
        vec![(option, json!(partial))],
    );
    interaction["type"] = json!(4);
    innermost_options(&mut interaction)[0]["focused"] = json!(true);
    interaction
}

/// The options of the innermost subcommand, where a command's own options go.
fn innermost_options(interaction: &mut Value) -> &mut Vec<Value> {
    let mut options = &mut interaction["data"]["options"];
    while let Some(first) = options.as_array().and_then(|o| o.first())
        && matches!(first["type"].as_u64(), Some(1 | 2))
    {
        options = &mut options[0]["options"];
    }
    options.as_array_mut().expect("an options array")
}

/// Adds a USER option (type 6) to a slash command's innermost options, with the
/// user in `data.resolved`, as Discord sends it.
pub fn with_user_option(mut interaction: Value, name: &str, user_id: u64, bot: bool) -> Value {
    innermost_options(&mut interaction)
        .push(json!({ "name": name, "type": USER_OPTION, "value": user_id.to_string() }));
    interaction["data"]["resolved"]["users"][user_id.to_string()] = user(user_id, bot);
    interaction
}

/// Adds a CHANNEL option (type 7) with the channel in `data.resolved`.
pub fn with_channel_option(mut interaction: Value, name: &str, channel_id: u64, kind: u8) -> Value {
    innermost_options(&mut interaction)
        .push(json!({ "name": name, "type": CHANNEL_OPTION, "value": channel_id.to_string() }));
    interaction["data"]["resolved"]["channels"][channel_id.to_string()] = json!({
        "id": channel_id.to_string(), "name": format!("channel{channel_id}"), "type": kind,
        "permissions": "8",
    });
    interaction
}

/// A guild channel as `GET /channels/{id}` returns it. `overwrites` is a JSON array.
pub fn guild_channel(id: u64, guild_id: u64, kind: u8, overwrites: Value) -> Value {
    json!({
        "id": id.to_string(), "type": kind, "guild_id": guild_id.to_string(),
        "name": format!("channel{id}"), "position": 0, "permission_overwrites": overwrites,
        "nsfw": false, "parent_id": null, "topic": null, "last_message_id": null,
        "rate_limit_per_user": 0, "flags": 0,
    })
}

/// A role as GUILD_CREATE and the role events carry it.
pub fn role(id: u64, name: &str, permissions: u64) -> Value {
    json!({
        "id": id.to_string(), "name": name, "color": 0, "colors": { "primary_color": 0 },
        "hoist": false, "icon": null, "unicode_emoji": null, "position": 0,
        "permissions": permissions.to_string(), "managed": false, "mentionable": false, "flags": 0,
    })
}

/// GUILD_CREATE as Discord sends it with only the GUILDS intent: @everyone
/// grants `everyone`, the bot's own member (always sent) holds `bot_role`,
/// which grants `bot_permissions`, and the server has `channels`.
pub fn guild_with_bot(
    id: u64,
    everyone: u64,
    bot_role: u64,
    bot_permissions: u64,
    channels: Vec<Value>,
) -> Value {
    let mut guild = guild_create(id, &format!("Server {id}"), 10, None);
    guild["roles"] = json!([
        role(id, "@everyone", everyone),
        role(bot_role, "Bot", bot_permissions)
    ]);
    guild["members"] = json!([bot_member_with(&[bot_role])]);
    guild["channels"] = json!(channels);
    guild
}

/// GUILD_ROLE_CREATE / GUILD_ROLE_UPDATE.
pub fn role_event(guild_id: u64, id: u64, permissions: u64) -> Value {
    json!({ "guild_id": guild_id.to_string(), "role": role(id, "Role", permissions) })
}

/// GUILD_ROLE_DELETE.
pub fn role_delete(guild_id: u64, id: u64) -> Value {
    json!({ "guild_id": guild_id.to_string(), "role_id": id.to_string() })
}

/// GUILD_MEMBER_UPDATE for the bot itself (sent without GUILD_MEMBERS).
pub fn bot_member_update(guild_id: u64, roles: &[u64], timed_out_until: Option<&str>) -> Value {
    let roles: Vec<String> = roles.iter().map(u64::to_string).collect();
    json!({
        "guild_id": guild_id.to_string(), "roles": roles, "user": bot_user(), "nick": null,
        "avatar": null, "joined_at": TIMESTAMP, "premium_since": null, "deaf": false, "mute": false,
        "pending": false, "communication_disabled_until": timed_out_until, "flags": 0,
    })
}

/// The bot's own member as GUILD_CREATE's `members` lists it.
pub fn bot_member_with(roles: &[u64]) -> Value {
    let mut member = member(BOT_USER_ID, true);
    member.as_object_mut().unwrap().remove("permissions");
    member["roles"] = json!(roles.iter().map(u64::to_string).collect::<Vec<_>>());
    member
}

/// A public thread of `parent`.
pub fn thread(id: u64, guild_id: u64, parent: u64) -> Value {
    let mut thread = guild_channel(id, guild_id, 11, json!([]));
    thread["parent_id"] = json!(parent.to_string());
    thread["thread_metadata"] = json!({
        "archived": false, "auto_archive_duration": 1440, "archive_timestamp": TIMESTAMP,
        "locked": false,
    });
    thread
}

/// `GET /guilds/{id}`: a guild whose @everyone role has `everyone_permissions`,
/// plus a "Bot" role (id `guild_id + 1`) with `bot_role_permissions`.
pub fn partial_guild(guild_id: u64, everyone_permissions: u64, bot_role_permissions: u64) -> Value {
    let mut guild = guild_update(guild_id, "Settings Test", None);
    let role = |id: u64, name: &str, permissions: u64| {
        json!({
            "id": id.to_string(), "name": name, "color": 0, "colors": { "primary_color": 0 },
            "hoist": false, "icon": null, "unicode_emoji": null, "position": 0,
            "permissions": permissions.to_string(), "managed": false, "mentionable": false, "flags": 0,
        })
    };
    guild["roles"] = json!([
        role(guild_id, "@everyone", everyone_permissions),
        role(guild_id + 1, "Bot", bot_role_permissions),
    ]);
    guild
}

/// `GET /guilds/{id}/members/{user}`: the bot's member with the "Bot" role.
pub fn bot_member(guild_id: u64) -> Value {
    let mut member = member(BOT_USER_ID, true);
    member["roles"] = json!([(guild_id + 1).to_string()]);
    member
}

pub fn button_press(
    interaction_id: u64,
    token: &str,
    guild_id: Option<u64>,
    user_id: u64,
    custom_id: &str,
    message: Value,
) -> Value {
    let mut interaction = interaction_base(3, interaction_id, token, guild_id, user_id);
    interaction["data"] = json!({ "custom_id": custom_id, "component_type": BUTTON });
    interaction["message"] = message;
    interaction
}

pub fn modal_submit(
    interaction_id: u64,
    token: &str,
    guild_id: Option<u64>,
    user_id: u64,
    custom_id: &str,
    fields: &[(&str, &str)],
) -> Value {
    let rows: Vec<Value> = fields
        .iter()
        .map(|(id, value)| {
            json!({ "type": ACTION_ROW, "components": [
            { "type": TEXT_INPUT, "custom_id": id, "value": value } ] })
        })
        .collect();
    let mut interaction = interaction_base(5, interaction_id, token, guild_id, user_id);
    interaction["data"] = json!({ "custom_id": custom_id, "components": rows });
    interaction
}

/// A complete message object as Discord returns it, around a request body.
pub fn message(id: u64, channel_id: u64, body: &Value) -> Value {
    json!({
        "id": id.to_string(), "channel_id": channel_id.to_string(), "author": bot_user(),
        "content": body.get("content").cloned().unwrap_or(json!("")),
        "timestamp": TIMESTAMP, "edited_timestamp": null, "tts": false,
        "mention_everyone": false, "mentions": [], "mention_roles": [], "attachments": [],
        "embeds": body.get("embeds").cloned().unwrap_or(json!([])),
        "components": body.get("components").cloned().unwrap_or(json!([])),
        "pinned": false, "type": 0, "flags": body.get("flags").cloned().unwrap_or(json!(0)),
        "nonce": body.get("nonce").cloned().unwrap_or(Value::Null),
        "application_id": APPLICATION_ID.to_string(), "webhook_id": null,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serenity::all::{
        Guild, GuildChannel, GuildMemberUpdateEvent, GuildRoleDeleteEvent, GuildRoleUpdateEvent,
        Interaction, Message, PartialGuild, Ready, UnavailableGuild,
    };

    fn parse<T: serde::de::DeserializeOwned>(value: Value) -> T {
        serde_json::from_value(value)
            .unwrap_or_else(|e| panic!("{}: {e}", std::any::type_name::<T>()))
    }

    #[test]
    fn every_fixture_deserializes_into_serenitys_types() {
        let ready: Ready = parse(ready([0, 1], "ws://127.0.0.1:1", &[1, 2]));
        assert_eq!(ready.guilds.len(), 2);
        let guild: Guild = parse(guild_create(
            5,
            "Five",
            42,
            Some("a_0123456789abcdef0123456789abcdef"),
        ));
        assert_eq!(guild.member_count, 42);
        let _: PartialGuild = parse(guild_update(5, "Renamed", None));
        let role: GuildRoleUpdateEvent = parse(role_event(5, 6, 2048));
        assert_eq!(
            (role.role.guild_id.get(), role.role.permissions.bits()),
            (5, 2048)
        );
        let deleted: GuildRoleDeleteEvent = parse(role_delete(5, 6));
        assert_eq!(deleted.role_id.get(), 6);
        let member: GuildMemberUpdateEvent = parse(bot_member_update(
            5,
            &[6],
            Some("2030-01-01T00:00:00.000000+00:00"),
        ));
        assert_eq!(member.roles.len(), 1);
        assert!(member.communication_disabled_until.is_some());
        let mut with_bot = guild_create(5, "Five", 42, None);
        with_bot["members"] = json!([bot_member_with(&[6])]);
        let with_bot: Guild = parse(with_bot);
        let bot = &with_bot.members[&serenity::all::UserId::new(BOT_USER_ID)];
        assert_eq!(bot.roles.len(), 1);
        let thread: GuildChannel = parse(thread(7, 5, 8));
        assert_eq!(thread.parent_id.map(|p| p.get()), Some(8));
        let deleted: UnavailableGuild = parse(guild_delete(5, true));
        assert!(deleted.unavailable);
        let deleted: UnavailableGuild = parse(guild_delete(5, false));
        assert!(!deleted.unavailable);
        let command: Interaction = parse(slash_command(
            1,
            "t",
            Some(5),
            7,
            &["admin", "stats"],
            vec![("days", json!(3))],
        ));
        let command = command.command().expect("a command interaction");
        assert_eq!(command.data.options[0].name, "stats");
        let _: Interaction = parse(slash_command(1, "t", None, 7, &["ping"], vec![]));
        let with_user = with_user_option(
            slash_command(1, "t", Some(5), 7, &["admin", "developers", "add"], vec![]),
            "user",
            9,
            true,
        );
        let with_channel = with_channel_option(
            slash_command(
                1,
                "t",
                Some(5),
                7,
                &["settings", "broadcast-channel"],
                vec![],
            ),
            "channel",
            11,
            0,
        );
        let _: Interaction = parse(with_channel);
        let _: serenity::all::GuildChannel = parse(guild_channel(11, 5, 0, json!([])));
        let _: PartialGuild = parse(partial_guild(5, 1024, 2048));
        let _: serenity::all::Member = parse(bot_member(5));
        let with_user: Interaction = parse(with_user);
        let resolved = &with_user.command().unwrap().data.resolved;
        assert!(resolved.users.values().next().unwrap().bot);
        let msg = message(
            9,
            3,
            &json!({ "content": "hi", "embeds": [{ "title": "x" }] }),
        );
        let _: Message = parse(msg.clone());
        let press: Interaction = parse(button_press(2, "t2", Some(5), 7, "x:1", msg));
        assert!(press.message_component().is_some());
        let modal: Interaction = parse(modal_submit(3, "t3", Some(5), 7, "m", &[("title", "T")]));
        assert!(modal.modal_submit().is_some());
    }
}
