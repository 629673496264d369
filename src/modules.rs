//! Module settings for host bots: each of a bot's modules keeps its settings
//! per server as typed JSON (`cog_settings.settings`), read and written here.
//! `/admin server` shows them; `/settings module ... message:` writes the
//! `message` key of the modules the host declares in
//! [`crate::PanelOptions::module_messages`].
//!
//! ```no_run
//! # async fn example(pool: sqlx::PgPool, guild: serenity::all::GuildId) -> Result<(), admin_panel::modules::SettingsError> {
//! #[derive(serde::Serialize, serde::Deserialize, Default)]
//! struct Levels { announce: bool, xp_per_message: u32 }
//!
//! let levels: Levels = admin_panel::modules::settings(&pool, guild, "levels").await?.unwrap_or_default();
//! admin_panel::modules::set_settings(&pool, guild, "levels", &Levels { announce: true, ..levels }).await?;
//! admin_panel::modules::update_settings(&pool, guild, "levels", |l: &mut Levels| l.xp_per_message += 1).await?;
//! # Ok(()) }
//! ```
//!
//! Settings are a JSON object of at most [`MAX_SETTINGS_BYTES`] (compact
//! encoding): a host cannot bloat a table with a row per server and module.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use sqlx::PgPool;

use crate::store::modules as store;

/// The most a module's settings in one server may take, as compact JSON.
pub const MAX_SETTINGS_BYTES: usize = 4096;

/// Why module settings could not be read or written. Nothing is written when
/// any of these is returned.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The name is not a module name.
    #[error("`{0}` is not a module name: use 1 to 32 of a-z, 0-9, _ and -")]
    InvalidModule(String),
    /// The value is not a JSON object.
    #[error("module settings must be a JSON object (a struct or a map)")]
    NotAnObject,
    /// The settings are larger than a server's module may store.
    #[error(
        "module settings would take {size} bytes of JSON, more than the {MAX_SETTINGS_BYTES} allowed"
    )]
    TooLarge {
        /// The size of the JSON, in bytes.
        size: usize,
    },
    /// The bot is not in the server.
    #[error("the server {0} is not known to the bot")]
    UnknownServer(u64),
    /// The JSON does not fit the type.
    #[error("module settings do not match the type they are read as")]
    Json(#[from] serde_json::Error),
    /// The database failed.
    #[error("failed to read or write module settings")]
    Database(#[from] sqlx::Error),
}

/// A module's settings in a server, or `None` if none were ever written
/// (no row, or the empty object a module toggled on or off has).
pub async fn settings<T: DeserializeOwned>(
    pool: &PgPool,
    guild: impl Into<u64>,
    module: &str,
) -> Result<Option<T>, SettingsError> {
    let module = checked_module(module)?;
    match store::settings(pool, guild.into(), module).await? {
        None => Ok(None),
        Some(Value::Object(map)) if map.is_empty() => Ok(None),
        Some(value) => Ok(Some(serde_json::from_value(value)?)),
    }
}

/// Replaces a module's settings in a server (whether the module is on is
/// left as it is; a module without a row gets one, off).
pub async fn set_settings<T: Serialize + ?Sized>(
    pool: &PgPool,
    guild: impl Into<u64>,
    module: &str,
    settings: &T,
) -> Result<(), SettingsError> {
    let value = checked(serde_json::to_value(settings)?)?;
    modify(pool, guild.into(), module, None, |_| Ok(value)).await
}

/// Reads, changes with `change` and writes a module's settings in one
/// transaction (the row is locked meanwhile, so concurrent updates from other
/// processes do not overwrite each other). Settings never written start as
/// `T::default()`. Returns the settings as written.
pub async fn update_settings<T, F>(
    pool: &PgPool,
    guild: impl Into<u64>,
    module: &str,
    change: F,
) -> Result<T, SettingsError>
where
    T: Serialize + DeserializeOwned + Default,
    F: FnOnce(&mut T),
{
    let mut written = None;
    modify(pool, guild.into(), module, None, |current| {
        let mut settings: T = if current.is_empty() {
            T::default()
        } else {
            serde_json::from_value(Value::Object(current))?
        };
        change(&mut settings);
        let value = serde_json::to_value(&settings)?;
        written = Some(settings);
        Ok(value)
    })
    .await?;
    Ok(written.expect("written when modify succeeds"))
}

/// The one write path: locks the row, computes the new settings from the
/// current ones, checks them and writes them, optionally turning the module
/// on or off in the same transaction (`/settings module`).
pub(crate) async fn modify(
    pool: &PgPool,
    guild_id: u64,
    module: &str,
    enabled: Option<bool>,
    change: impl FnOnce(Map<String, Value>) -> Result<Value, SettingsError>,
) -> Result<(), SettingsError> {
    let module = checked_module(module)?;
    let mut transaction = pool.begin().await?;
    let current = store::lock_settings(&mut transaction, guild_id, module)
        .await?
        .ok_or(SettingsError::UnknownServer(guild_id))?;
    let current = match current {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    let value = checked(change(current)?)?;
    store::write_settings(&mut transaction, guild_id, module, enabled, &value).await?;
    transaction.commit().await?;
    Ok(())
}

/// `value` if it is an object within [`MAX_SETTINGS_BYTES`].
pub fn checked(value: Value) -> Result<Value, SettingsError> {
    if !value.is_object() {
        return Err(SettingsError::NotAnObject);
    }
    let size = serde_json::to_vec(&value)?.len();
    if size > MAX_SETTINGS_BYTES {
        return Err(SettingsError::TooLarge { size });
    }
    Ok(value)
}

/// A module name as the schema accepts it (`^[a-z0-9_-]{1,32}$`).
fn checked_module(module: &str) -> Result<&str, SettingsError> {
    let valid = (1..=32).contains(&module.len())
        && module
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if valid {
        Ok(module)
    } else {
        Err(SettingsError::InvalidModule(
            crate::ui::text::truncate(module, 40).replace('`', "'"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_are_objects_of_at_most_four_kib() {
        assert!(checked(json!({ "message": "hi" })).is_ok());
        assert!(checked(json!({ "k": "v".repeat(MAX_SETTINGS_BYTES - 8) })).is_ok());
        assert!(matches!(
            checked(json!({ "k": "v".repeat(MAX_SETTINGS_BYTES) })),
            Err(SettingsError::TooLarge { size }) if size > MAX_SETTINGS_BYTES
        ));
        assert!(matches!(
            checked(json!("text")),
            Err(SettingsError::NotAnObject)
        ));
        assert!(matches!(
            checked(json!([1])),
            Err(SettingsError::NotAnObject)
        ));
    }

    #[test]
    fn module_names_follow_the_schema() {
        assert_eq!(checked_module("welcome").unwrap(), "welcome");
        assert!(checked_module("auto-mod_2").is_ok());
        for bad in ["", "Welcome", "a b", &"x".repeat(33), "é"] {
            assert!(checked_module(bad).is_err(), "{bad}");
        }
    }
}
