// Entry point of the gateway service (also what the container image runs, bundled).
import { runService } from "../run-service.ts";
import { startGateway } from "./gateway.ts";

runService("gateway", startGateway);
