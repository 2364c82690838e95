#include "proxy/metrics/exposition.h"

#include <charconv>
#include <cmath>

namespace mxguard::metrics {

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);   // shortest round trip
  return ec == std::errc() ? std::string(buf, end) : std::string("NaN");
}

namespace {
std::string_view type_name(Type t) {
  switch (t) {
    case Type::Counter: return "counter";
    case Type::Gauge: return "gauge";
    case Type::Histogram: return "histogram";
  }
  return "untyped";
}
}  // namespace

void TextWriter::family(std::string_view name, std::string_view help, Type type) {
  out_.append("# HELP ").append(name).append(" ").append(escape_help(help)).append("\n");
  out_.append("# TYPE ").append(name).append(" ").append(type_name(type)).append("\n");
}

void TextWriter::series(std::string_view name, std::string_view suffix, std::initializer_list<Label> labels,
                        const Label* extra) {
  out_.append(name).append(suffix);
  if (labels.size() == 0 && !extra) {
    out_ += ' ';
    return;
  }
  out_ += '{';
  bool first = true;
  auto add = [&](const Label& l) {
    if (!first) out_ += ',';
    first = false;
    out_.append(l.name).append("=\"").append(escape_label_value(l.value)).append("\"");
  };
  for (const Label& l : labels) add(l);
  if (extra) add(*extra);
  out_.append("} ");
}

void TextWriter::sample(std::string_view name, std::initializer_list<Label> labels, std::uint64_t value) {
  series(name, "", labels, nullptr);
  out_.append(std::to_string(value)).append("\n");
}

void TextWriter::sample(std::string_view name, std::initializer_list<Label> labels, std::int64_t value) {
  series(name, "", labels, nullptr);
  out_.append(std::to_string(value)).append("\n");
}

void TextWriter::sample(std::string_view name, std::initializer_list<Label> labels, double value) {
  series(name, "", labels, nullptr);
  out_.append(format_value(value)).append("\n");
}

void TextWriter::histogram(std::string_view name, std::initializer_list<Label> labels, std::span<const double> bounds,
                           std::span<const std::uint64_t> counts, double sum) {
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    cumulative += i < counts.size() ? counts[i] : 0;
    std::string le = format_value(bounds[i]);
    Label bucket{"le", le};
    series(name, "_bucket", labels, &bucket);
    out_.append(std::to_string(cumulative)).append("\n");
  }
  for (std::size_t i = bounds.size(); i < counts.size(); ++i) cumulative += counts[i];
  Label inf{"le", "+Inf"};
  series(name, "_bucket", labels, &inf);
  out_.append(std::to_string(cumulative)).append("\n");
  series(name, "_sum", labels, nullptr);
  out_.append(format_value(sum)).append("\n");
  series(name, "_count", labels, nullptr);
  out_.append(std::to_string(cumulative)).append("\n");
}

}  // namespace mxguard::metrics
