//! Discord's numbers, named, for assertions and fixtures that would otherwise
//! say `type 4` or `flags 64`.

/// Interaction callback types (`InteractionCallbackType`).
pub const CHANNEL_MESSAGE_WITH_SOURCE: u64 = 4;
pub const DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE: u64 = 5;
pub const UPDATE_MESSAGE: u64 = 7;
pub const MODAL: u64 = 9;

/// Message flag: only the user who invoked the interaction sees the message.
pub const EPHEMERAL: u64 = 1 << 6;

/// Component types.
pub const ACTION_ROW: u64 = 1;
pub const BUTTON: u64 = 2;
pub const STRING_SELECT: u64 = 3;
pub const TEXT_INPUT: u64 = 4;
pub const CHANNEL_SELECT: u64 = 8;

/// Application command option types.
pub const USER_OPTION: u64 = 6;
pub const CHANNEL_OPTION: u64 = 7;
