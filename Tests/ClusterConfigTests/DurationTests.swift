import ClusterConfig
import Testing

@Suite("Durations")
struct DurationTests {
  @Test(arguments: [
    ("250ms", Duration.milliseconds(250)), ("1s", .seconds(1)), ("1.5s", .milliseconds(1500)),
    ("2m", .seconds(120)), ("1000", .milliseconds(1000)), ("0", .zero), ("0.5ms", .microseconds(500)),
    ("1.25m", .seconds(75)), ("007ms", .milliseconds(7)), ("1.000000001s", .nanoseconds(1_000_000_001)),
    ("1.50s", .milliseconds(1500)),
  ])
  func validDurationsParse(text: String, expected: Duration) {
    #expect(parseDuration(text) == expected)
  }

  @Test(arguments: [
    "", "ms", "s", "-1s", "+1s", "1.s", ".5s", "1 s", " 1s", "1s ", "1h", "1us", "1,5s", "1.5.1s",
    "0.0000001ms", "99999999999999999999", "9999999999999s",
  ])
  func invalidDurationsAreRejected(text: String) {
    #expect(parseDuration(text) == nil)
  }

  @Test(arguments: [
    (Duration.milliseconds(250), "250ms"), (.seconds(1), "1s"), (.milliseconds(1500), "1.5s"),
    (.seconds(60), "60s"), (.zero, "0ms"), (.microseconds(500), "0.5ms"),
    (.nanoseconds(1_000_000_001), "1.000000001s"),
    (.milliseconds(1000) / 3, "333.333333ms"), (.milliseconds(-250), "-250ms"),
  ])
  func durationsFormatCanonically(duration: Duration, expected: String) {
    #expect(formatDuration(duration) == expected)
  }

  @Test(arguments: [
    Duration.milliseconds(20), .milliseconds(333), .milliseconds(1001), .seconds(3600), .nanoseconds(1),
  ])
  func formattedDurationsParseBack(duration: Duration) {
    #expect(parseDuration(formatDuration(duration)) == duration)
  }
}
