-- Users belong to a token subject (who may read and change them without the user-admin role).
-- Existing users keep subject null: they belong to nobody, and only a user-admin reaches them.
ALTER TABLE "users" ADD COLUMN "subject" text;--> statement-breakpoint
CREATE UNIQUE INDEX "users_subject_live_idx" ON "users" USING btree ("subject") WHERE "users"."deleted_at" is null;