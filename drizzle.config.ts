// drizzle-kit: `npx drizzle-kit generate` writes a new migration into drizzle/ from shared/write-side/db/schema.ts.
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "postgresql",
  schema: "./shared/write-side/db/schema.ts",
  out: "./drizzle",
});
