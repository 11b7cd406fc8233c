/// The daemons' metrics as values: each daemon answers the `metrics` request of its control socket
/// with `[MetricFamily]`; `swpcs metrics` and swpacemakerd's optional HTTP listener merge both
/// daemons' families with `MetricsExposition.merged` and render them with `PrometheusText`.
///
/// Kept structured (not pre-rendered text) on the sockets so that the merge and the JSON output of
/// `swpcs metrics --output json` need no parser of the exposition format.

/// One metric family: one name, one type, one help text, any number of labelled samples.
public struct MetricFamily: Codable, Sendable, Equatable {
  public enum Kind: String, Codable, Sendable {
    case counter
    case gauge
    case histogram
  }
  /// `[a-zA-Z_:][a-zA-Z0-9_:]*`; counters end in `_total`, histograms in a unit (`_seconds`).
  public var name: String
  public var help: String
  public var kind: Kind
  public var samples: [MetricSample]
  public init(name: String, help: String, kind: Kind, samples: [MetricSample]) {
    self.name = name
    self.help = help
    self.kind = kind
    self.samples = samples
  }

  /// A family of one unlabelled gauge.
  public static func gauge(_ name: String, _ help: String, _ value: Double) -> MetricFamily {
    MetricFamily(name: name, help: help, kind: .gauge, samples: [MetricSample(value: value)])
  }
}

/// One label pair; samples keep their labels in the order given (the rendering is stable).
public struct MetricLabel: Codable, Sendable, Equatable, Comparable {
  public var name: String
  public var value: String
  public init(_ name: String, _ value: String) {
    self.name = name
    self.value = value
  }
  public static func < (a: MetricLabel, b: MetricLabel) -> Bool {
    (a.name, a.value) < (b.name, b.value)
  }
}

/// One sample of a family: a value (counter, gauge) or a histogram.
public struct MetricSample: Codable, Sendable, Equatable {
  public var labels: [MetricLabel]
  public var value: Double
  public var histogram: Histogram?
  public init(labels: [MetricLabel] = [], value: Double = 0, histogram: Histogram? = nil) {
    self.labels = labels
    self.value = value
    self.histogram = histogram
  }
}

/// Cumulative bucket counts of observations, as Prometheus histograms keep them.
public struct Histogram: Codable, Sendable, Equatable {
  /// Upper bounds, ascending; `+Inf` is implicit (it is `count`).
  public var bounds: [Double]
  /// `cumulative[i]` observations were `<= bounds[i]`.
  public var cumulative: [UInt64]
  public var sum: Double
  public var count: UInt64

  public init(bounds: [Double]) {
    self.bounds = bounds.sorted()
    self.cumulative = Array(repeating: 0, count: bounds.count)
    self.sum = 0
    self.count = 0
  }

  public mutating func observe(_ value: Double) {
    for (i, bound) in bounds.enumerated() where value <= bound { cumulative[i] += 1 }
    sum += value
    count += 1
  }

  /// Seconds: 1 ms ... 60 s, for agent actions (a start of a systemd unit takes 10 ms – 30 s).
  public static let actionSeconds: [Double] = [
    0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
  ]
  /// Seconds: 10 µs ... 1 s, for one scheduler run.
  public static let schedulerSeconds: [Double] = [
    0.000_01, 0.000_05, 0.0001, 0.000_5, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1,
  ]
}

/// Merging the daemons' families into one exposition.
public enum MetricsExposition {
  /// Each daemon's families in order, plus `swpcs_daemon_up{daemon}` (1, or 0 with that daemon's
  /// families absent when `families` is nil). Families of the same name are joined (first help wins).
  public static func merged(_ daemons: [(daemon: String, families: [MetricFamily]?)]) -> [MetricFamily] {
    var out = [
      MetricFamily(
        name: "swpcs_daemon_up", help: "Whether the daemon answered on its control socket (1) or not (0).",
        kind: .gauge,
        samples: daemons.map {
          MetricSample(labels: [MetricLabel("daemon", $0.daemon)], value: $0.families == nil ? 0 : 1)
        }
      )
    ]
    for (_, families) in daemons {
      for family in families ?? [] {
        if let i = out.firstIndex(where: { $0.name == family.name }) {
          out[i].samples += family.samples
        } else {
          out.append(family)
        }
      }
    }
    return out
  }
}

/// The Prometheus text exposition format 0.0.4 (what `GET /metrics` serves).
public enum PrometheusText {
  /// The `Content-Type` of the rendering.
  public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

  /// Renders the families in the order given; within a family, samples are sorted by their labels so
  /// that the output is the same for the same values whatever order the daemon produced them in.
  public static func render(_ families: [MetricFamily]) -> String {
    var out = ""
    for family in families {
      out += "# HELP \(family.name) \(escapeHelp(family.help))\n"
      out += "# TYPE \(family.name) \(family.kind.rawValue)\n"
      let samples = family.samples.sorted { labelText($0.labels) < labelText($1.labels) }
      for sample in samples {
        if let histogram = sample.histogram {
          for (bound, count) in zip(histogram.bounds, histogram.cumulative) {
            let labels = sample.labels + [MetricLabel("le", number(bound))]
            out += "\(family.name)_bucket\(labelText(labels)) \(count)\n"
          }
          out +=
            "\(family.name)_bucket\(labelText(sample.labels + [MetricLabel("le", "+Inf")])) \(histogram.count)\n"
          out += "\(family.name)_sum\(labelText(sample.labels)) \(number(histogram.sum))\n"
          out += "\(family.name)_count\(labelText(sample.labels)) \(histogram.count)\n"
        } else {
          out += "\(family.name)\(labelText(sample.labels)) \(number(sample.value))\n"
        }
      }
    }
    return out
  }

  /// `{a="x",b="y"}` in the labels' order, or nothing without labels.
  static func labelText(_ labels: [MetricLabel]) -> String {
    guard !labels.isEmpty else { return "" }
    return "{" + labels.map { "\($0.name)=\"\(escapeLabelValue($0.value))\"" }.joined(separator: ",") + "}"
  }

  /// Label values escape backslash, double quote and line feed.
  public static func escapeLabelValue(_ text: String) -> String { escape(text, quote: true) }

  /// Help text escapes backslash and line feed.
  public static func escapeHelp(_ text: String) -> String { escape(text, quote: false) }

  private static func escape(_ text: String, quote: Bool) -> String {
    var out = ""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\\": out += "\\\\"
      case "\"" where quote: out += "\\\""
      case "\n": out += "\\n"
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out
  }

  /// Whole numbers without a fraction (counters read naturally), others in Swift's shortest form.
  public static func number(_ value: Double) -> String {
    if value.isNaN { return "NaN" }
    if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
    if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
    return "\(value)"
  }

  /// Whether `name` is a valid metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`).
  public static func isValidMetricName(_ name: String) -> Bool {
    isValid(name, allowColon: true)
  }

  /// Whether `name` is a valid label name (`[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__`).
  public static func isValidLabelName(_ name: String) -> Bool {
    !name.hasPrefix("__") && isValid(name, allowColon: false)
  }

  private static func isValid(_ name: String, allowColon: Bool) -> Bool {
    guard let first = name.unicodeScalars.first else { return false }
    func letter(_ c: Unicode.Scalar) -> Bool {
      ("a"..."z").contains(c) || ("A"..."Z").contains(c) || c == "_" || (allowColon && c == ":")
    }
    return letter(first) && name.unicodeScalars.allSatisfy { letter($0) || ("0"..."9").contains($0) }
  }
}
