-- The message lists by status, newest first (`GET /messages?box=inbox&status=queued`,
-- what a polling client asks every few seconds): without these, the list walks every
-- message the org ever received or sent (delivered ones included) and sorts them.
CREATE INDEX messages_recipient_status ON messages(recipient_org_id, status, created_at_ms, message_id);
CREATE INDEX messages_sender_status ON messages(sender_org_id, status, created_at_ms, message_id);
