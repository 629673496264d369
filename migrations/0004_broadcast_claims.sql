-- Which process holds a delivery it claimed (its bot_instances id). A claim is
-- a lease (next_attempt_at moves ahead); a restarted process releases at once
-- the leases of processes on its host that no longer run, so a crash costs no
-- waiting, and the nonce of each message makes a re-send a no-op.
ALTER TABLE broadcast_deliveries ADD COLUMN claimed_by BIGINT;

-- Wakes every process's delivery worker when a broadcast becomes due.
-- (NOTIFY admin_panel_broadcasts, '<broadcast id>')
