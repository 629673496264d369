//! The panel's permission calculation against serenity 0.12.5's
//! `user_permissions_in`, on the cases both cover (base permissions and
//! overwrites, no implicit denies, timeouts or threads), from the JSON
//! Discord sends.

use admin_panel::permissions::{channel_facts, member_facts, permissions_in};
use serde_json::{Value, json};
use serenity::all::{GuildChannel, Member, PartialGuild, Permissions};

use crate::support::fixtures;

const GUILD: u64 = 880_000_000_000_000_001;
const BOT_ROLE: u64 = GUILD + 1;

fn overwrite(id: u64, kind: u8, allow: Permissions, deny: Permissions) -> Value {
    json!({ "id": id.to_string(), "type": kind, "allow": allow.bits().to_string(), "deny": deny.bits().to_string() })
}

/// Ours and serenity's, for a guild with these @everyone and bot-role
/// permissions and a text channel with these overwrites.
fn both(
    everyone: Permissions,
    bot_role: Permissions,
    overwrites: Value,
) -> (Permissions, Permissions) {
    let guild: PartialGuild = serde_json::from_value(fixtures::partial_guild(
        GUILD,
        everyone.bits(),
        bot_role.bits(),
    ))
    .unwrap();
    let member: Member = serde_json::from_value({
        let mut member = fixtures::bot_member(GUILD);
        member["guild_id"] = json!(GUILD.to_string());
        member
    })
    .unwrap();
    let channel: GuildChannel =
        serde_json::from_value(fixtures::guild_channel(77, GUILD, 0, overwrites)).unwrap();
    let ours = permissions_in(
        &member_facts(&guild, &member),
        &channel_facts(&channel, None),
        chrono::Utc::now(),
    );
    (ours, guild.user_permissions_in(&channel, &member))
}

#[test]
fn ours_agrees_with_serenity_where_serenity_applies() {
    let view_send_embed =
        Permissions::VIEW_CHANNEL | Permissions::SEND_MESSAGES | Permissions::EMBED_LINKS;
    let bot_id = fixtures::BOT_USER_ID;
    let cases = [
        (view_send_embed, Permissions::empty(), json!([])),
        (
            view_send_embed,
            Permissions::empty(),
            json!([overwrite(
                GUILD,
                0,
                Permissions::empty(),
                Permissions::EMBED_LINKS
            )]),
        ),
        (
            Permissions::VIEW_CHANNEL | Permissions::SEND_MESSAGES,
            Permissions::empty(),
            json!([overwrite(
                BOT_ROLE,
                0,
                Permissions::EMBED_LINKS,
                Permissions::empty()
            )]),
        ),
        (
            view_send_embed,
            Permissions::empty(),
            json!([
                overwrite(BOT_ROLE, 0, Permissions::empty(), Permissions::EMBED_LINKS),
                overwrite(bot_id, 1, Permissions::EMBED_LINKS, Permissions::empty()),
            ]),
        ),
        (
            Permissions::empty(),
            Permissions::ADMINISTRATOR,
            json!([overwrite(
                GUILD,
                0,
                Permissions::empty(),
                Permissions::all()
            )]),
        ),
    ];
    for (everyone, bot_role, overwrites) in cases {
        let (ours, serenitys) = both(everyone, bot_role, overwrites.clone());
        assert_eq!(ours, serenitys, "{everyone:?} {bot_role:?} {overwrites}");
    }
}

#[test]
fn ours_applies_the_implicit_denies_serenity_misses() {
    // No View Channel in the channel: Discord leaves nothing; serenity
    // still reports Send Messages and Embed Links.
    let (ours, serenitys) = both(
        Permissions::VIEW_CHANNEL | Permissions::SEND_MESSAGES | Permissions::EMBED_LINKS,
        Permissions::empty(),
        json!([overwrite(
            GUILD,
            0,
            Permissions::empty(),
            Permissions::VIEW_CHANNEL
        )]),
    );
    assert_eq!(ours, Permissions::empty());
    assert!(serenitys.contains(Permissions::SEND_MESSAGES | Permissions::EMBED_LINKS));
}
