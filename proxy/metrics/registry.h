#pragma once
// The process's metrics: one WorkerMetrics per worker, and the few process-wide values that already have
// a home of their own (the audit log's and the MTA-STS cache's write errors, the cache's size), read
// through callbacks when a scrape asks. render() adds the workers' instruments up and writes the text
// exposition; it runs on the main loop (or a test), never on a worker.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proxy/metrics/worker_metrics.h"

namespace mxguard::metrics {

struct ProcessSources {
  std::function<std::uint64_t()> audit_write_errors;                  // audit::Log::write_errors
  // Empty when MTA-STS is off: then its cache's families are not exposed at all.
  std::function<std::uint64_t()> sts_cache_write_errors;              // SharedCache::write_errors
  std::function<std::uint64_t()> sts_cache_policies;                  // SharedCache::size
};

class Registry {
 public:
  explicit Registry(std::string version) : version_(std::move(version)) {}

  // One block per worker, added before the workers start (on the thread that renders). The block lives
  // as long as the registry, which outlives the workers.
  WorkerMetrics* add_worker();
  void set_sources(ProcessSources sources) { sources_ = std::move(sources); }

  std::string render() const;
  std::size_t workers() const { return workers_.size(); }

 private:
  std::string version_;
  std::vector<std::unique_ptr<WorkerMetrics>> workers_;
  ProcessSources sources_;
};

}  // namespace mxguard::metrics
