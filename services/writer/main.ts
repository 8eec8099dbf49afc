// Entry point of the writer service (also what the container image runs, bundled).
import { runService } from "../run-service.ts";
import { startWriter } from "./writer.ts";

runService("writer", startWriter);
