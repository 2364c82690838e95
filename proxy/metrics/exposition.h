#pragma once
// The Prometheus text exposition format, version 0.0.4: what GET /metrics answers. Pure string building,
// so the escaping and the histogram layout are unit-tested without a server.
//
//   # HELP mxguard_sessions_total Sessions that ended, by direction and TLS state.
//   # TYPE mxguard_sessions_total counter
//   mxguard_sessions_total{direction="inbound",tls="established"} 12
//
// A histogram is its cumulative _bucket series (the last with le="+Inf"), then _sum and _count.
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

namespace mxguard::metrics {

inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

enum class Type { Counter, Gauge, Histogram };

struct Label {
  std::string_view name;
  std::string_view value;
};

// Label values escape backslash, double quote and line feed; HELP text escapes backslash and line feed.
std::string escape_label_value(std::string_view value);
std::string escape_help(std::string_view help);
// The shortest text that reads back as the same double ("0.005", "2.5", "1e-05"); "+Inf", "-Inf", "NaN".
std::string format_value(double value);

class TextWriter {
 public:
  // Starts a family: its HELP and TYPE lines. Its samples follow before the next family starts.
  void family(std::string_view name, std::string_view help, Type type);
  void sample(std::string_view name, std::initializer_list<Label> labels, std::uint64_t value);
  void sample(std::string_view name, std::initializer_list<Label> labels, std::int64_t value);
  void sample(std::string_view name, std::initializer_list<Label> labels, double value);
  // One histogram series: `counts[i]` observations in bucket i (not cumulative: each is at most
  // bounds[i] and above bounds[i-1]); counts has one more entry than bounds, for what lies above them all.
  // The writer makes the buckets cumulative, adds le="+Inf", and _sum and _count (the +Inf bucket).
  void histogram(std::string_view name, std::initializer_list<Label> labels, std::span<const double> bounds,
                 std::span<const std::uint64_t> counts, double sum);

  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void series(std::string_view name, std::string_view suffix, std::initializer_list<Label> labels,
              const Label* extra);
  std::string out_;
};

}  // namespace mxguard::metrics
