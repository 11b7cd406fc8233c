import ControlProtocol
import Testing

@Suite("Prometheus text exposition")
struct PrometheusTextTests {
  @Test func aCounterAndAGaugeRenderWithHelpAndTypeLines() {
    let text = PrometheusText.render([
      MetricFamily(
        name: "swpcs_membership_view_changes_total", help: "Views installed.", kind: .counter,
        samples: [MetricSample(value: 3)]),
      .gauge("swpcs_quorum_quorate", "Quorate.", 1),
    ])
    #expect(
      text == """
        # HELP swpcs_membership_view_changes_total Views installed.
        # TYPE swpcs_membership_view_changes_total counter
        swpcs_membership_view_changes_total 3
        # HELP swpcs_quorum_quorate Quorate.
        # TYPE swpcs_quorum_quorate gauge
        swpcs_quorum_quorate 1

        """)
  }

  @Test func labelValuesEscapeBackslashQuoteAndNewline() {
    let family = MetricFamily(
      name: "m_total", help: "h", kind: .counter,
      samples: [MetricSample(labels: [MetricLabel("resource", "a\\b\"c\nd")], value: 1)])
    #expect(PrometheusText.render([family]).contains(#"m_total{resource="a\\b\"c\nd"} 1"#))
  }

  @Test func helpTextEscapesBackslashAndNewlineButNotQuotes() {
    #expect(PrometheusText.escapeHelp("say \"hi\"\\\nbye") == #"say "hi"\\\nbye"#)
  }

  @Test func labelsKeepTheirGivenOrderAndSamplesAreSortedByLabels() {
    let family = MetricFamily(
      name: "swpcs_resource_actions_total", help: "h", kind: .counter,
      samples: [
        MetricSample(labels: [MetricLabel("action", "stop"), MetricLabel("result", "ok")], value: 2),
        MetricSample(labels: [MetricLabel("action", "start"), MetricLabel("result", "failed")], value: 1),
        MetricSample(labels: [MetricLabel("action", "start"), MetricLabel("result", "ok")], value: 5),
      ])
    let lines = PrometheusText.render([family]).split(separator: "\n").dropFirst(2)
    #expect(
      Array(lines) == [
        #"swpcs_resource_actions_total{action="start",result="failed"} 1"#,
        #"swpcs_resource_actions_total{action="start",result="ok"} 5"#,
        #"swpcs_resource_actions_total{action="stop",result="ok"} 2"#,
      ])
  }

  @Test func theOutputDoesNotDependOnTheOrderSamplesWereProduced() {
    let samples = (0..<20).map { MetricSample(labels: [MetricLabel("peer", "n\($0)")], value: Double($0)) }
    let a = PrometheusText.render([MetricFamily(name: "x_total", help: "h", kind: .counter, samples: samples)]
    )
    let b = PrometheusText.render([
      MetricFamily(name: "x_total", help: "h", kind: .counter, samples: samples.reversed())
    ])
    #expect(a == b)
  }

  @Test func aHistogramHasCumulativeBucketsInfSumAndCount() {
    var histogram = Histogram(bounds: [0.1, 1])
    for value in [0.05, 0.5, 0.5, 3] { histogram.observe(value) }
    let text = PrometheusText.render([
      MetricFamily(
        name: "d_seconds", help: "h", kind: .histogram,
        samples: [MetricSample(labels: [MetricLabel("action", "start")], histogram: histogram)])
    ])
    #expect(
      text == """
        # HELP d_seconds h
        # TYPE d_seconds histogram
        d_seconds_bucket{action="start",le="0.1"} 1
        d_seconds_bucket{action="start",le="1"} 3
        d_seconds_bucket{action="start",le="+Inf"} 4
        d_seconds_sum{action="start"} 4.05
        d_seconds_count{action="start"} 4

        """)
  }

  @Test func numbersAreWholeWhenWholeAndSpecialValuesAreSpelledOut() {
    #expect(PrometheusText.number(42) == "42")
    #expect(PrometheusText.number(0.25) == "0.25")
    #expect(PrometheusText.number(.infinity) == "+Inf")
    #expect(PrometheusText.number(-.infinity) == "-Inf")
    #expect(PrometheusText.number(.nan) == "NaN")
    #expect(PrometheusText.number(1e20) == "1e+20")
  }

  @Test func metricAndLabelNamesAreValidated() {
    #expect(PrometheusText.isValidMetricName("swpcs_is_dc"))
    #expect(PrometheusText.isValidMetricName("a:b_c"))
    #expect(!PrometheusText.isValidMetricName("1abc"))
    #expect(!PrometheusText.isValidMetricName("a-b"))
    #expect(PrometheusText.isValidLabelName("resource"))
    #expect(!PrometheusText.isValidLabelName("__name"))
    #expect(!PrometheusText.isValidLabelName("a:b"))
  }

  @Test func mergingReportsEachDaemonUpOrDownAndJoinsFamiliesOfTheSameName() {
    let shared = MetricFamily(
      name: "s_total", help: "first", kind: .counter, samples: [MetricSample(labels: [MetricLabel("d", "a")])]
    )
    var second = shared
    second.help = "second"
    second.samples = [MetricSample(labels: [MetricLabel("d", "b")], value: 1)]
    let merged = MetricsExposition.merged([
      ("swcorosync", [shared]), ("swpacemakerd", [second, .gauge("swpcs_is_dc", "h", 1)]), ("other", nil),
    ])
    #expect(merged.map(\.name) == ["swpcs_daemon_up", "s_total", "swpcs_is_dc"])
    #expect(merged[0].samples.map(\.value) == [1, 1, 0])
    #expect(merged[0].samples.map { $0.labels[0].value } == ["swcorosync", "swpacemakerd", "other"])
    #expect(merged[1].help == "first" && merged[1].samples.count == 2)
  }
}
