-- Why a broadcast, edit or recall is holding back right now (set by the
-- process that paused it, cleared when it resumes): shown in its progress
-- message and report by whichever process draws them.
ALTER TABLE broadcasts ADD COLUMN paused_reason text;
ALTER TABLE broadcast_followups ADD COLUMN paused_reason text;
