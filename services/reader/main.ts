// Entry point of the reader service (also what the container image runs, bundled).
import { runService } from "../run-service.ts";
import { startReader } from "./reader.ts";

runService("reader", startReader);
