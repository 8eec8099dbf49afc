// Structured logs: one JSON object per line on stdout.
export type Log = (entry: Record<string, unknown>) => void;

export function createLog(service: string, write: (line: string) => void = (line) => process.stdout.write(line)): Log {
  return (entry) => {
    write(`${JSON.stringify({ time: new Date().toISOString(), level: "info", service, ...entry })}\n`);
  };
}
