-- Wakes the outbox relay (LISTEN outbox) when a transaction that wrote events commits.
-- NOTIFY is delivered only on commit, so the relay never sees rows of a rolled-back transaction.
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('outbox', '');
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
