//! Each rule of Discord's permission calculation on its own.

use chrono::TimeDelta;

use super::*;

const GUILD: u64 = 10;
const OWNER: u64 = 20;
const BOT: u64 = 30;
const BOT_ROLE: u64 = 40;
const OTHER_ROLE: u64 = 41;

/// What a broadcast needs: see the channel, send, embed.
fn post() -> Permissions {
    Permissions::VIEW_CHANNEL | Permissions::SEND_MESSAGES | Permissions::EMBED_LINKS
}

fn bot(everyone: Permissions, role: Permissions) -> MemberFacts {
    MemberFacts {
        guild_id: GUILD,
        owner_id: OWNER,
        user_id: BOT,
        everyone,
        roles: vec![(BOT_ROLE, role)],
        timed_out_until: None,
    }
}

fn channel(kind: ChannelKind, overwrites: Vec<Overwrite>) -> ChannelFacts {
    ChannelFacts {
        id: 50,
        kind,
        overwrites,
    }
}

fn role(id: u64, allow: Permissions, deny: Permissions) -> Overwrite {
    Overwrite {
        target: OverwriteTarget::Role(id),
        allow,
        deny,
    }
}

fn own(allow: Permissions, deny: Permissions) -> Overwrite {
    Overwrite {
        target: OverwriteTarget::Member(BOT),
        allow,
        deny,
    }
}

fn text(overwrites: Vec<Overwrite>) -> ChannelFacts {
    channel(ChannelKind::Messages, overwrites)
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

#[test]
fn base_permissions_are_everyones_and_the_roles_together() {
    let member = bot(
        Permissions::VIEW_CHANNEL,
        Permissions::SEND_MESSAGES | Permissions::EMBED_LINKS,
    );
    assert!(permissions_in(&member, &text(vec![]), now()).contains(post()));
    assert!(missing(&member, &text(vec![]), Need::PostEmbed, now()).is_empty());
}

#[test]
fn the_owner_and_an_administrator_have_everything_whatever_the_overwrites() {
    let deny_all = vec![role(GUILD, Permissions::empty(), Permissions::all())];
    let mut owner = bot(Permissions::empty(), Permissions::empty());
    owner.owner_id = BOT;
    assert_eq!(
        permissions_in(&owner, &text(deny_all.clone()), now()),
        Permissions::all()
    );
    let admin = bot(Permissions::empty(), Permissions::ADMINISTRATOR);
    assert_eq!(
        permissions_in(&admin, &text(deny_all), now()),
        Permissions::all()
    );
}

#[test]
fn overwrites_apply_everyone_then_roles_then_the_member() {
    let member = bot(post(), Permissions::empty());
    // @everyone denied Send Messages in the channel.
    let everyone_denied = vec![role(
        GUILD,
        Permissions::empty(),
        Permissions::SEND_MESSAGES,
    )];
    assert_eq!(
        missing(
            &member,
            &text(everyone_denied.clone()),
            Need::PostEmbed,
            now()
        ),
        vec!["Send Messages"],
        "Embed Links, taken with it, comes back with it"
    );
    assert!(
        !permissions_in(&member, &text(everyone_denied.clone()), now())
            .contains(Permissions::EMBED_LINKS)
    );
    // A role of the bot's allows it back: roles come after @everyone.
    let mut role_allows = everyone_denied.clone();
    role_allows.push(role(
        BOT_ROLE,
        Permissions::SEND_MESSAGES,
        Permissions::empty(),
    ));
    assert!(missing(&member, &text(role_allows.clone()), Need::PostEmbed, now()).is_empty());
    // Between roles, an allow wins over a deny.
    let mut two_roles = bot(post(), Permissions::empty());
    two_roles.roles.push((OTHER_ROLE, Permissions::empty()));
    let mut both = role_allows.clone();
    both.push(role(
        OTHER_ROLE,
        Permissions::empty(),
        Permissions::SEND_MESSAGES,
    ));
    assert!(missing(&two_roles, &text(both), Need::PostEmbed, now()).is_empty());
    // A role the bot does not have changes nothing.
    let not_ours = vec![role(
        OTHER_ROLE,
        Permissions::empty(),
        Permissions::SEND_MESSAGES,
    )];
    assert!(missing(&member, &text(not_ours), Need::PostEmbed, now()).is_empty());
    // The member's own overwrite comes last.
    let mut member_denied = role_allows;
    member_denied.push(own(Permissions::empty(), Permissions::SEND_MESSAGES));
    assert_eq!(
        missing(&member, &text(member_denied), Need::PostEmbed, now()),
        vec!["Send Messages"]
    );
}

#[test]
fn without_view_channel_nothing_is_left() {
    let member = bot(post() | Permissions::MANAGE_MESSAGES, Permissions::empty());
    let hidden = text(vec![role(
        GUILD,
        Permissions::empty(),
        Permissions::VIEW_CHANNEL,
    )]);
    assert_eq!(
        permissions_in(&member, &hidden, now()),
        Permissions::empty()
    );
    assert_eq!(
        missing(&member, &hidden, Need::PostEmbed, now()),
        vec!["View Channel"]
    );
    assert_eq!(
        missing(&member, &hidden, Need::SeeChannel, now()),
        vec!["View Channel"]
    );
}

#[test]
fn without_send_messages_embeds_files_and_mentions_go_too() {
    let member = bot(
        Permissions::VIEW_CHANNEL
            | Permissions::EMBED_LINKS
            | Permissions::ATTACH_FILES
            | Permissions::MENTION_EVERYONE
            | Permissions::SEND_TTS_MESSAGES,
        Permissions::empty(),
    );
    let has = permissions_in(&member, &text(vec![]), now());
    assert_eq!(has, Permissions::VIEW_CHANNEL);
}

#[test]
fn a_thread_takes_its_parents_overwrites_and_needs_send_messages_in_threads() {
    let member = bot(post(), Permissions::empty());
    let thread = channel(ChannelKind::Thread, vec![]);
    assert_eq!(
        missing(&member, &thread, Need::PostEmbed, now()),
        vec!["Send Messages in Threads"]
    );
    let allowed_in_parent = channel(
        ChannelKind::Thread,
        vec![role(
            BOT_ROLE,
            Permissions::SEND_MESSAGES_IN_THREADS,
            Permissions::empty(),
        )],
    );
    assert!(missing(&member, &allowed_in_parent, Need::PostEmbed, now()).is_empty());
}

#[test]
fn forum_and_media_channels_take_no_messages() {
    let admin = bot(Permissions::empty(), Permissions::ADMINISTRATOR);
    let forum = channel(ChannelKind::NoMessages, vec![]);
    assert_eq!(
        missing(&admin, &forum, Need::PostEmbed, now()),
        vec!["a channel that takes messages"]
    );
}

#[test]
fn a_timed_out_bot_only_sees_and_reads_unless_owner_or_administrator() {
    let mut member = bot(
        post() | Permissions::READ_MESSAGE_HISTORY,
        Permissions::empty(),
    );
    member.timed_out_until = Some(now() + TimeDelta::minutes(10));
    assert_eq!(
        permissions_in(&member, &text(vec![]), now()),
        Permissions::VIEW_CHANNEL | Permissions::READ_MESSAGE_HISTORY
    );
    assert_eq!(
        missing(&member, &text(vec![]), Need::PostEmbed, now()),
        vec![
            "Send Messages (the bot is in timeout)",
            "Embed Links (the bot is in timeout)"
        ]
    );
    // A timeout that has run out is no timeout.
    member.timed_out_until = Some(now() - TimeDelta::seconds(1));
    assert!(missing(&member, &text(vec![]), Need::PostEmbed, now()).is_empty());
    // Administrators are above timeouts.
    let mut admin = bot(Permissions::empty(), Permissions::ADMINISTRATOR);
    admin.timed_out_until = Some(now() + TimeDelta::minutes(10));
    assert_eq!(
        permissions_in(&admin, &text(vec![]), now()),
        Permissions::all()
    );
}
