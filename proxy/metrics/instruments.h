#pragma once
// The instruments a worker counts with. Each is written by exactly one thread, the worker loop that owns
// it, and read by the scrape on the main loop: so an increment is a relaxed load and store of the
// owner's own cache line (no lock, no read-modify-write bus lock), and a scrape reads each value
// atomically, never torn. A scrape may see one counter of a worker a few events ahead of another; every
// value it reports was true at some moment, which is all Prometheus asks of a counter.
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

namespace mxguard::metrics {

class Counter {
 public:
  void add(std::uint64_t n = 1) noexcept {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  void add(std::int64_t n) noexcept {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::int64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

// Fixed buckets (upper bounds in seconds, ascending); observations in nanoseconds, so the sum is exact.
// Per bucket, not cumulative: the scrape adds the workers' buckets up and makes them cumulative.
template <const auto& Bounds>
class Histogram {
 public:
  static constexpr std::size_t kBuckets = std::size(Bounds);
  static constexpr std::span<const double> bounds() { return Bounds; }

  void observe_ns(std::uint64_t ns) noexcept {
    std::size_t i = 0;
    while (i < kBuckets && static_cast<double>(ns) > Bounds[i] * 1e9) ++i;
    counts_[i].add();
    sum_ns_.add(ns);
  }
  // counts()[kBuckets] is what lies above every bound (the +Inf bucket's own share).
  const std::array<Counter, kBuckets + 1>& counts() const noexcept { return counts_; }
  std::uint64_t sum_ns() const noexcept { return sum_ns_.value(); }

 private:
  std::array<Counter, kBuckets + 1> counts_{};
  Counter sum_ns_;
};

}  // namespace mxguard::metrics
