// Process-wide metrics in the Prometheus text format: counters and latency histograms, labelled.
// Recording is a shared-lock lookup plus an atomic add, cheap enough for every request.
#pragma once

#include <string>
#include <string_view>

namespace rt::metrics {

// Declares a metric's HELP text and TYPE ("counter" or "histogram"). Safe to call more than once.
void describe(std::string_view name, std::string_view type, std::string_view help);

// Adds `value` to the counter `name` with `labels` (Prometheus syntax without braces, e.g.
// `route="getRepository",status="200"`; empty for none). Label values must already be escaped.
void add(std::string_view name, std::string_view labels = {}, double value = 1);

// Records one observation, in seconds, in the latency histogram `name`.
void observe(std::string_view name, std::string_view labels, double seconds);

// Sets a gauge (a value that goes up and down, e.g. open connections).
void set_gauge(std::string_view name, std::string_view labels, double value);

// Everything recorded so far, in the Prometheus text exposition format.
std::string render();

// Escapes a label value (backslash, double quote, newline).
std::string escape_label(std::string_view value);

}  // namespace rt::metrics
