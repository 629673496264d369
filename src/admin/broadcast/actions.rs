//! The composer's action codes (the first character of a control's custom
//! id, which says what the control does) and how long a composing session
//! lives: shared by the composer's files (compose, preview, approval,
//! follow-up), which each import them from here, so none of them imports
//! another's for them. Each code is used by one control only.

use std::time::Duration;

/// How long the modal and the preview's buttons stay valid (Discord's
/// interaction tokens last 15 minutes).
pub(super) const SESSION_TIMEOUT: Duration = Duration::from_secs(14 * 60);

/// The first modal (args: category, schedule as unix seconds or 0).
pub(super) const NEW_FORM: char = 'm';
/// The Edit modal of a saved draft (args: draft id).
pub(super) const EDIT_FORM: char = 'E';
/// "Edit" under a refused first submit (args: stored view with the input).
pub(super) const EDIT_REFUSED: char = 'r';
/// The preview's buttons (args: draft id).
pub(super) const SEND: char = 's';
pub(super) const SEND_NOW: char = 'S';
pub(super) const EDIT: char = 'e';
pub(super) const DISCARD: char = 'd';
/// Review buttons and the rejection form (args: broadcast id).
pub(super) const APPROVE: char = 'P';
pub(super) const REJECT: char = 'J';
pub(super) const REJECT_FORM: char = 'j';
/// The pending list's menu: opens the picked broadcast's review.
pub(super) const REVIEW_PICK: char = 'v';
/// The preview's channel menu for a test send (args: draft id).
pub(super) const TEST_SEND: char = 't';
/// The form editing a sent broadcast (args: broadcast id).
pub(super) const EDIT_SENT_FORM: char = 'x';
/// Apply under the preview of such an edit (args: stored view of the input).
pub(super) const APPLY_EDIT: char = 'A';
