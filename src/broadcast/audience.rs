//! Who a broadcast goes to, from the options of `/admin broadcast new`:
//! `language`, `module`, `min_members` and `servers` (ids separated by commas
//! or spaces, at most 25). Every option given must hold; none means every
//! server. Checked here, since a forged interaction can carry anything.

use crate::error::UserError;
use crate::store::broadcasts::Audience;
use crate::validate::{Language, known_module};

/// Discord's own ceiling for a hand-picked list (an autocomplete shows 25).
pub const MAX_SERVERS: usize = 25;

/// The audience options as the command received them.
#[derive(Debug, Clone, Default)]
pub struct AudienceOptions {
    pub language: Option<Language>,
    pub module: Option<String>,
    pub min_members: Option<i64>,
    pub servers: Option<String>,
}

impl AudienceOptions {
    /// The audience, or a clear error naming the bad option. `modules` are
    /// the modules the host bot declared.
    pub fn validate(&self, modules: &[String]) -> Result<Audience, UserError> {
        let module = self
            .module
            .as_deref()
            .map(|raw| known_module(modules, raw).map(str::to_owned))
            .transpose()?;
        let min_members = self
            .min_members
            .map(|n| {
                i32::try_from(n).ok().filter(|n| *n >= 1).ok_or_else(|| {
                    UserError::new(format!(
                        "min_members must be a number of members from 1 to {}.",
                        i32::MAX
                    ))
                })
            })
            .transpose()?;
        let servers = match self.servers.as_deref() {
            Some(raw) => parse_server_ids(raw)?,
            None => Vec::new(),
        };
        Ok(Audience {
            audience_language: self
                .language
                .map(|l| poise::ChoiceParameter::name(&l).to_owned()),
            audience_module: module,
            audience_min_members: min_members,
            audience_guild_ids: servers,
        })
    }
}

/// Server ids separated by commas or spaces: each a snowflake, at most
/// [`MAX_SERVERS`] of them, duplicates dropped, order kept.
pub fn parse_server_ids(raw: &str) -> Result<Vec<u64>, UserError> {
    let mut ids = Vec::new();
    for token in raw
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
    {
        let id = token
            .parse::<u64>()
            .ok()
            .filter(|id| *id > 0 && *id <= i64::MAX as u64)
            .ok_or_else(|| {
                UserError::new(format!(
                    "`{}` in servers is not a server id: give ids separated by commas (pick them from the suggestions).",
                    crate::ui::text::truncate(token, 40).replace('`', "'")
                ))
            })?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.is_empty() {
        return Err(UserError::new(
            "servers names no server: give server ids separated by commas.",
        ));
    }
    if ids.len() > MAX_SERVERS {
        return Err(UserError::new(format!(
            "servers lists {} servers; at most {MAX_SERVERS} can be picked by hand (use language, module or min_members for more).",
            ids.len()
        )));
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn modules() -> Vec<String> {
        vec!["welcome".into(), "music".into()]
    }

    #[test]
    fn no_option_means_every_server() {
        let audience = AudienceOptions::default().validate(&modules()).unwrap();
        assert!(audience.is_everyone());
    }

    #[test]
    fn every_option_given_is_kept() {
        let options = AudienceOptions {
            language: Some(Language::PtBr),
            module: Some("Welcome".into()),
            min_members: Some(100),
            servers: Some("12, 34 34,56".into()),
        };
        let audience = options.validate(&modules()).unwrap();
        assert_eq!(audience.audience_language.as_deref(), Some("pt-BR"));
        assert_eq!(audience.audience_module.as_deref(), Some("welcome"));
        assert_eq!(audience.audience_min_members, Some(100));
        assert_eq!(audience.audience_guild_ids, [12, 34, 56]);
    }

    #[test]
    fn bad_options_are_refused_with_what_is_wrong() {
        let unknown_module = AudienceOptions {
            module: Some("nope".into()),
            ..Default::default()
        };
        assert!(
            unknown_module
                .validate(&modules())
                .unwrap_err()
                .to_string()
                .contains("There is no module")
        );
        let zero = AudienceOptions {
            min_members: Some(0),
            ..Default::default()
        };
        assert!(zero.validate(&modules()).is_err());
        assert!(
            parse_server_ids("12, =cmd()")
                .unwrap_err()
                .to_string()
                .contains("is not a server id")
        );
        let too_many: Vec<String> = (1..=26).map(|n| n.to_string()).collect();
        assert!(
            parse_server_ids(&too_many.join(","))
                .unwrap_err()
                .to_string()
                .contains("26 servers")
        );
        assert!(parse_server_ids(" , ").is_err());
    }
}
