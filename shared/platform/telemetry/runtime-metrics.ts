// Process memory and event-loop delay, under the OpenTelemetry semantic-convention names.
import { monitorEventLoopDelay } from "node:perf_hooks";
import { metrics } from "@opentelemetry/api";

export function startRuntimeMetrics(): () => void {
  const meter = metrics.getMeter("cqrs-ts/runtime");
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  const memory = meter.createObservableGauge("process.memory.usage", {
    description: "Resident set size of the process",
    unit: "By",
  });
  const heap = meter.createObservableGauge("v8js.memory.heap.used", { description: "V8 heap in use", unit: "By" });
  const delayP99 = meter.createObservableGauge("nodejs.eventloop.delay.p99", {
    description: "Event-loop delay, 99th percentile since the last scrape",
    unit: "s",
  });
  const delayMax = meter.createObservableGauge("nodejs.eventloop.delay.max", {
    description: "Event-loop delay, maximum since the last scrape",
    unit: "s",
  });
  meter.addBatchObservableCallback(
    (result) => {
      const usage = process.memoryUsage();
      result.observe(memory, usage.rss);
      result.observe(heap, usage.heapUsed);
      result.observe(delayP99, histogram.percentile(99) / 1e9);
      result.observe(delayMax, histogram.max / 1e9);
      histogram.reset();
    },
    [memory, heap, delayP99, delayMax],
  );
  return () => histogram.disable();
}
