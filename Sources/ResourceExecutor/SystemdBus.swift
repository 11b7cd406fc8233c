import CSystemd
import Foundation
import Glibc
import Synchronization

/// Why a bus request did not produce a reply.
enum BusError: Error, Equatable, CustomStringConvertible {
  /// The peer answered with a D-Bus error.
  case method(name: String, message: String)
  /// No connection (yet, or any more); the request may be retried once the bus is back.
  case disconnected(String)
  /// The request's deadline passed.
  case timedOut
  /// A reply did not have the expected shape.
  case malformedReply(String)
  /// The runner is shutting down.
  case shutDown

  var description: String {
    switch self {
    case .method(let name, let message): "\(name): \(message)"
    case .disconnected(let why): "system bus unavailable: \(why)"
    case .timedOut: "timed out"
    case .malformedReply(let what): "unexpected reply: \(what)"
    case .shutDown: "executor shutting down"
    }
  }
}

/// A method call whose arguments are all strings (every systemd call the executor makes).
struct MethodCall: Sendable {
  var destination = "org.freedesktop.systemd1"
  var path = "/org/freedesktop/systemd1"
  var interface = "org.freedesktop.systemd1.Manager"
  var member: String
  var arguments: [String] = []
}

/// How a systemd job ended: its `JobRemoved` result (done, canceled, timeout, failed, dependency,
/// skipped), or `lost` when the signal cannot arrive any more (the bus or systemd went away), in which
/// case the caller must look at the unit's state instead.
enum JobOutcome: Sendable, Equatable {
  case finished(String)
  case lost
}

/// The executor's connection to systemd: one private sd-bus connection confined to one thread.
///
/// sd-bus objects belong to one thread, so everything that touches the bus — calls, signal
/// dispatch, job and unit bookkeeping — runs on the bus thread, which polls the bus fd and an eventfd
/// that other threads write to after queueing a command. Async callers get their answer through a
/// continuation; reply parsers run on the bus thread while the reply message is valid.
///
/// Invariants kept by the thread:
/// - the `JobRemoved`/`PropertiesChanged`/`UnitRemoved`/`NameOwnerChanged` matches and systemd's
///   `Subscribe()` are in place before any command runs on a connection, so a job's completion can
///   not be missed (results that arrive before their waiter are kept briefly);
/// - every continuation is resumed exactly once: by its reply, its deadline, a disconnect, or
///   shutdown;
/// - after a disconnect the thread reconnects with exponential backoff (0.1 s to 5 s), re-subscribes
///   and re-reads every watched unit, since signals may have been lost meanwhile.
final class SystemdBus: @unchecked Sendable {
  private struct Command: Sendable {
    var needsBus: Bool
    var deadline: ContinuousClock.Instant?
    var run: @Sendable (SystemdBus) -> Void
    var fail: @Sendable (BusError) -> Void
  }

  private struct Shared {
    var commands: [Command] = []
    var stopping = false
  }

  private struct PendingCall {
    var slot: OpaquePointer?
    var box: CallBox
    var deadline: ContinuousClock.Instant
    var complete: (Result<OpaquePointer, BusError>) -> Void
  }

  private struct JobWaiter {
    var deadline: ContinuousClock.Instant
    var complete: (Result<JobOutcome, BusError>) -> Void
  }

  /// A unit the cluster started here and expects to stay up.
  private struct Watch {
    var resource: String
    var unit: String
    /// Failures are reported only once the start (or monitor) that created the watch has confirmed
    /// the unit is running; state seen before that is only remembered.
    var armed = false
    /// A failure was reported; the next `active` re-arms.
    var reported = false
    var activeState: String?
    var subState: String?
  }

  /// Reply context handed to sd-bus as userdata; kept alive by `calls`.
  private final class CallBox {
    unowned let owner: SystemdBus
    let id: UInt64
    init(owner: SystemdBus, id: UInt64) {
      self.owner = owner
      self.id = id
    }
  }

  let address: String?
  let failures: AsyncStream<UnitFailure>
  private let failureSink: AsyncStream<UnitFailure>.Continuation
  private let shared = Mutex(Shared())
  private let wakeFD: Int32

  // Bus thread only.
  private var bus: OpaquePointer?
  private var matchSlots: [OpaquePointer?] = []
  private var calls: [UInt64: PendingCall] = [:]
  private var nextCallID: UInt64 = 0
  private var jobs: [String: JobWaiter] = [:]
  private var finishedJobs: [String: String] = [:]
  private var finishedOrder: [String] = []
  private var waiting: [Command] = []
  private var watches: [String: Watch] = [:]
  private var backoff: Duration = .milliseconds(100)
  private var nextAttempt = ContinuousClock.now
  private var lastConnectError = "not connected yet"
  private var connections = 0

  static let unitInterface = "org.freedesktop.systemd1.Unit"

  /// Starts the bus thread; it connects (and keeps reconnecting) in the background.
  init(address: String?) throws(ExecutorSetupError) {
    self.address = address
    let fd = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
    guard fd >= 0 else { throw ExecutorSetupError(reason: "eventfd: \(errnoText())") }
    wakeFD = fd
    (failures, failureSink) = AsyncStream.makeStream(
      of: UnitFailure.self, bufferingPolicy: .bufferingNewest(1024))
    let thread = Thread { [self] in threadMain() }
    thread.name = "systemd-bus"
    thread.start()
  }

  /// Stops the thread: pending requests fail with ``BusError/shutDown``, the failure stream ends.
  func shutdown() {
    shared.withLock { $0.stopping = true }
    wake()
  }

  // MARK: - Async API (any thread)

  /// Calls `method` and parses the reply on the bus thread.
  func call<T: Sendable>(
    _ method: MethodCall, deadline: ContinuousClock.Instant,
    parse: @escaping @Sendable (OpaquePointer) throws(BusError) -> T
  ) async throws(BusError) -> T {
    let result: Result<T, BusError> = await withCheckedContinuation { continuation in
      let once = Once(continuation)
      submit(
        Command(
          needsBus: true, deadline: deadline,
          run: { bus in
            bus.startCall(method, deadline: deadline) { reply in
              switch reply {
              case .success(let message):
                do throws(BusError) {
                  once.resume(.success(try parse(message)))
                } catch {
                  once.resume(.failure(error))
                }
              case .failure(let error):
                once.resume(.failure(error))
              }
            }
          },
          fail: { once.resume(.failure($0)) }))
    }
    return try result.get()
  }

  /// Calls a job-returning Manager method (`StartUnit`, `StopUnit`) and waits for its `JobRemoved`.
  func runJob(_ method: MethodCall, deadline: ContinuousClock.Instant) async throws(BusError) -> JobOutcome {
    let result: Result<JobOutcome, BusError> = await withCheckedContinuation { continuation in
      let once = Once(continuation)
      submit(
        Command(
          needsBus: true, deadline: deadline,
          run: { bus in
            bus.startCall(method, deadline: deadline) { reply in
              switch reply {
              case .success(let message):
                do throws(BusError) {
                  let job = try readString(message, "o")
                  bus.awaitJob(job, deadline: deadline) { once.resume($0) }
                } catch {
                  once.resume(.failure(error))
                }
              case .failure(let error):
                once.resume(.failure(error))
              }
            }
          },
          fail: { once.resume(.failure($0)) }))
    }
    return try result.get()
  }

  /// Starts watching `unit` (unarmed) for `resource`.
  func watch(unit: String, path: String, resource: String) async {
    await local(()) { bus in
      if bus.watches[path] == nil {
        bus.watches[path] = Watch(resource: resource, unit: unit)
      }
    }
  }

  /// Arms the watch on `path`: from now on a failed, stopped or vanished unit is reported. If the state
  /// seen since the watch was created is already bad, it is reported at once.
  func arm(path: String) async {
    await local(()) { bus in
      guard var watch = bus.watches[path] else { return }
      watch.armed = true
      bus.watches[path] = watch
      bus.evaluate(path)
    }
  }

  /// Stops watching `unit` (a stop is about to begin, or a start failed).
  func unwatch(unit: String) async {
    await local(()) { bus in
      bus.watches = bus.watches.filter { $0.value.unit != unit }
    }
  }

  /// Units currently watched, by resource (for status and tests).
  func watchedUnits() async -> [String: String] {
    await local([:]) { bus in
      Dictionary(bus.watches.values.map { ($0.resource, $0.unit) }, uniquingKeysWith: { a, _ in a })
    }
  }

  /// How many times the thread has connected (1 after the first connection; more after reconnects).
  func connectionCount() async -> Int {
    await local(0) { bus in bus.connections }
  }

  /// Runs `body` on the bus thread, connected or not; `fallback` once the thread has stopped.
  private func local<T: Sendable>(_ fallback: T, _ body: @escaping @Sendable (SystemdBus) -> T) async -> T {
    let result: Result<T, BusError> = await withCheckedContinuation { continuation in
      let once = Once(continuation)
      submit(
        Command(
          needsBus: false, deadline: nil, run: { once.resume(.success(body($0))) },
          fail: { once.resume(.failure($0)) }))
    }
    return (try? result.get()) ?? fallback
  }

  private func submit(_ command: Command) {
    let accepted = shared.withLock { state in
      guard !state.stopping else { return false }
      state.commands.append(command)
      return true
    }
    if accepted { wake() } else { command.fail(.shutDown) }
  }

  private func wake() {
    var one: UInt64 = 1
    _ = write(wakeFD, &one, 8)
  }

  // MARK: - Bus thread

  private func threadMain() {
    while true {
      let (commands, stopping) = shared.withLock { state in
        defer { state.commands = [] }
        return (state.commands, state.stopping)
      }
      if stopping {
        teardown(commands)
        return
      }
      if bus == nil && ContinuousClock.now >= nextAttempt { connect() }
      waiting += commands
      runReadyCommands()
      expireDeadlines()
      if bus != nil { dispatch() }
      waitForEvents()
    }
  }

  private func runReadyCommands() {
    let ready = waiting
    waiting = []
    for command in ready {
      if command.needsBus && bus == nil {
        waiting.append(command)
      } else {
        command.run(self)
      }
    }
  }

  private func expireDeadlines() {
    let now = ContinuousClock.now
    waiting = waiting.filter { command in
      guard let deadline = command.deadline, deadline <= now else { return true }
      command.fail(.disconnected(lastConnectError))  // Only commands that need the bus ever wait.
      return false
    }
    for (path, waiter) in jobs where waiter.deadline <= now {
      jobs[path] = nil
      waiter.complete(.failure(.timedOut))
    }
  }

  /// Processes everything sd-bus has for us; a processing error means the connection is gone.
  private func dispatch() {
    while let bus {
      let r = sd_bus_process(bus, nil)
      if r < 0 {
        disconnect(reason: "sd_bus_process: \(String(cString: strerror(-r)))")
        return
      }
      if r == 0 { return }
    }
  }

  private func waitForEvents() {
    var fds = [pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)]
    var timeout = Duration.seconds(60)
    let now = ContinuousClock.now
    if let bus {
      let events = sd_bus_get_events(bus)
      if events < 0 {
        disconnect(reason: "sd_bus_get_events: \(String(cString: strerror(-events)))")
        return
      }
      fds.append(pollfd(fd: sd_bus_get_fd(bus), events: Int16(events), revents: 0))
      var usec: UInt64 = 0
      if sd_bus_get_timeout(bus, &usec) >= 0 && usec != UInt64.max {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let nowUsec = UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000
        timeout = min(timeout, usec > nowUsec ? .microseconds(Int64(usec - nowUsec)) : .zero)
      }
    } else {
      timeout = min(timeout, max(nextAttempt - now, .zero))
    }
    let deadlines = waiting.compactMap(\.deadline) + jobs.values.map(\.deadline)
    if let first = deadlines.min() { timeout = min(timeout, max(first - now, .zero)) }
    let ms = Int32(clamping: milliseconds(timeout) + (timeout > .zero ? 1 : 0))
    _ = poll(&fds, nfds_t(fds.count), ms)
    if fds[0].revents != 0 {
      var value: UInt64 = 0
      _ = read(wakeFD, &value, 8)
    }
  }

  private func connect() {
    var newBus: OpaquePointer?
    var r: Int32
    if let address {
      r = sd_bus_new(&newBus)
      if r >= 0 { r = sd_bus_set_address(newBus, address) }
      if r >= 0 { r = sd_bus_set_bus_client(newBus, 1) }
      if r >= 0 { r = sd_bus_start(newBus) }
    } else {
      r = sd_bus_open_system(&newBus)
    }
    var failure: String?
    if r >= 0 {
      bus = newBus
      (r, failure) = subscribe()
    } else {
      sd_bus_unref(newBus)
    }
    guard r >= 0 else {
      lastConnectError = failure ?? String(cString: strerror(-r))
      if bus != nil { disconnect(reason: lastConnectError) } else { scheduleReconnect() }
      return
    }
    connections += 1
    backoff = .milliseconds(100)
    recheckWatches()
  }

  /// Adds the signal matches and calls `Subscribe()`; systemd emits no job or unit signals before.
  /// Returns sd-bus's result and, for a D-Bus error, its name.
  private func subscribe() -> (Int32, String?) {
    let rules = [
      "type='signal',sender='org.freedesktop.systemd1',path='/org/freedesktop/systemd1',"
        + "interface='org.freedesktop.systemd1.Manager',member='JobRemoved'",
      "type='signal',sender='org.freedesktop.systemd1',path='/org/freedesktop/systemd1',"
        + "interface='org.freedesktop.systemd1.Manager',member='UnitRemoved'",
      "type='signal',sender='org.freedesktop.systemd1',interface='org.freedesktop.DBus.Properties',"
        + "member='PropertiesChanged',path_namespace='/org/freedesktop/systemd1/unit',"
        + "arg0='org.freedesktop.systemd1.Unit'",
      "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
        + "member='NameOwnerChanged',arg0='org.freedesktop.systemd1'",
    ]
    let userdata = Unmanaged.passUnretained(self).toOpaque()
    for rule in rules {
      var slot: OpaquePointer?
      let r = sd_bus_add_match(
        bus, &slot, rule,
        { message, userdata, _ in
          guard let message, let userdata else { return 0 }
          Unmanaged<SystemdBus>.fromOpaque(userdata).takeUnretainedValue().handleSignal(message)
          return 0
        }, userdata)
      guard r >= 0 else { return (r, "adding a signal match: \(String(cString: strerror(-r)))") }
      matchSlots.append(slot)
    }
    return callSubscribe()
  }

  /// `Subscribe()`, synchronously: only at connect time, before any other request is in flight.
  private func callSubscribe() -> (Int32, String?) {
    var message: OpaquePointer?
    var reply: OpaquePointer?
    var error = sd_bus_error(name: nil, message: nil, _need_free: 0)
    defer {
      sd_bus_message_unref(message)
      sd_bus_message_unref(reply)
      sd_bus_error_free(&error)
    }
    var r = sd_bus_message_new_method_call(
      bus, &message, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
      "org.freedesktop.systemd1.Manager", "Subscribe")
    guard r >= 0 else { return (r, nil) }
    r = sd_bus_call(bus, message, 10_000_000, &error, &reply)
    return (r, r < 0 ? error.name.map { "Subscribe: \(String(cString: $0))" } : nil)
  }

  private func scheduleReconnect() {
    nextAttempt = ContinuousClock.now + backoff
    backoff = min(backoff * 2, .seconds(5))
  }

  /// Drops the connection: in-flight calls fail as `disconnected` (their operations retry), job
  /// waiters learn that their signal is lost, and a reconnect is scheduled.
  private func disconnect(reason: String) {
    let pending = calls
    calls = [:]
    for call in pending.values { sd_bus_slot_unref(call.slot) }
    for slot in matchSlots { sd_bus_slot_unref(slot) }
    matchSlots = []
    sd_bus_close_unref(bus)
    bus = nil
    lastConnectError = reason
    for call in pending.values { call.complete(.failure(.disconnected(reason))) }
    loseJobs()
    scheduleReconnect()
  }

  private func loseJobs() {
    let lost = jobs
    jobs = [:]
    for waiter in lost.values { waiter.complete(.success(.lost)) }
  }

  private func teardown(_ late: [Command]) {
    let pending = calls
    calls = [:]
    for call in pending.values { sd_bus_slot_unref(call.slot) }
    for slot in matchSlots { sd_bus_slot_unref(slot) }
    matchSlots = []
    sd_bus_flush_close_unref(bus)
    bus = nil
    for call in pending.values { call.complete(.failure(.shutDown)) }
    let lost = jobs
    jobs = [:]
    for waiter in lost.values { waiter.complete(.failure(.shutDown)) }
    for command in waiting + late { command.fail(.shutDown) }
    waiting = []
    failureSink.finish()
    close(wakeFD)
  }

  private func startCall(
    _ method: MethodCall, deadline: ContinuousClock.Instant,
    complete: @escaping (Result<OpaquePointer, BusError>) -> Void
  ) {
    guard let bus else { return complete(.failure(.disconnected(lastConnectError))) }
    var message: OpaquePointer?
    var r = sd_bus_message_new_method_call(
      bus, &message, method.destination, method.path, method.interface, method.member)
    defer { sd_bus_message_unref(message) }
    for argument in method.arguments where r >= 0 {
      r = argument.withCString { sd_bus_message_append_basic(message, CChar(UInt8(ascii: "s")), $0) }
    }
    guard r >= 0 else {
      return complete(.failure(.disconnected("building \(method.member): \(String(cString: strerror(-r)))")))
    }
    let remaining = deadline - ContinuousClock.now
    guard remaining > .zero else { return complete(.failure(.timedOut)) }
    nextCallID += 1
    let box = CallBox(owner: self, id: nextCallID)
    var slot: OpaquePointer?
    r = sd_bus_call_async(
      bus, &slot, message,
      { reply, userdata, _ in
        guard let reply, let userdata else { return 0 }
        let box = Unmanaged<CallBox>.fromOpaque(userdata).takeUnretainedValue()
        box.owner.completeCall(box.id, reply)
        return 0
      }, Unmanaged.passUnretained(box).toOpaque(), UInt64(max(1, milliseconds(remaining))) * 1000)
    guard r >= 0 else {
      return complete(.failure(.disconnected("\(method.member): \(String(cString: strerror(-r)))")))
    }
    calls[box.id] = PendingCall(slot: slot, box: box, deadline: deadline, complete: complete)
  }

  private func completeCall(_ id: UInt64, _ reply: OpaquePointer) {
    guard let call = calls.removeValue(forKey: id) else { return }
    sd_bus_slot_unref(call.slot)
    guard sd_bus_message_is_method_error(reply, nil) > 0 else { return call.complete(.success(reply)) }
    let error = sd_bus_message_get_error(reply)
    let name = error?.pointee.name.map { String(cString: $0) } ?? "unknown"
    let text = error?.pointee.message.map { String(cString: $0) } ?? ""
    if name == "org.freedesktop.DBus.Error.NoReply" || name == "org.freedesktop.DBus.Error.Timeout" {
      // sd-bus synthesizes NoReply both for its own timeout and for a connection that closed.
      let expired = ContinuousClock.now >= call.deadline - .milliseconds(5)
      return call.complete(.failure(expired ? .timedOut : .disconnected(text)))
    }
    call.complete(.failure(.method(name: name, message: text)))
  }

  private func awaitJob(
    _ job: String, deadline: ContinuousClock.Instant,
    complete: @escaping (Result<JobOutcome, BusError>) -> Void
  ) {
    if let result = finishedJobs.removeValue(forKey: job) {
      return complete(.success(.finished(result)))
    }
    jobs[job] = JobWaiter(deadline: deadline, complete: complete)
  }

  // MARK: Signals

  private func handleSignal(_ message: OpaquePointer) {
    guard let member = sd_bus_message_get_member(message).map({ String(cString: $0) }) else { return }
    switch member {
    case "JobRemoved": jobRemoved(message)
    case "PropertiesChanged": propertiesChanged(message)
    case "UnitRemoved": unitRemoved(message)
    case "NameOwnerChanged": nameOwnerChanged(message)
    default: break
    }
  }

  private func jobRemoved(_ message: OpaquePointer) {
    guard (try? readUInt32(message)) != nil, let job = try? readString(message, "o"),
      (try? readString(message, "s")) != nil, let result = try? readString(message, "s")
    else { return }
    if let waiter = jobs.removeValue(forKey: job) {
      return waiter.complete(.success(.finished(result)))
    }
    // Possibly ours, with the reply to StartUnit/StopUnit still to be processed: keep it briefly.
    finishedJobs[job] = result
    finishedOrder.append(job)
    if finishedOrder.count > 256 {
      finishedJobs[finishedOrder.removeFirst()] = nil
    }
  }

  private func propertiesChanged(_ message: OpaquePointer) {
    guard let path = sd_bus_message_get_path(message).map({ String(cString: $0) }), watches[path] != nil,
      let changes = try? readPropertiesChanged(message)
    else { return }
    if let state = changes.values["ActiveState"] { watches[path]?.activeState = state }
    if let state = changes.values["SubState"] { watches[path]?.subState = state }
    if changes.invalidated.contains("ActiveState") {
      refresh(path)
    } else {
      evaluate(path)
    }
  }

  /// systemd also announces removals while it re-executes, so a removal is only a reason to look
  /// again: `LoadUnit` then says whether the unit is really gone (not-found) or still there.
  private func unitRemoved(_ message: OpaquePointer) {
    guard (try? readString(message, "s")) != nil, let path = try? readString(message, "o"),
      watches[path] != nil
    else { return }
    refresh(path)
  }

  private func nameOwnerChanged(_ message: OpaquePointer) {
    guard (try? readString(message, "s")) != nil, (try? readString(message, "s")) != nil,
      let newOwner = try? readString(message, "s")
    else { return }
    // systemd left the bus (daemon-reexec, or worse): its JobRemoved signals for running jobs may
    // never come. When it is back, subscribe again and look at every watched unit.
    loseJobs()
    guard !newOwner.isEmpty else { return }
    startCall(MethodCall(member: "Subscribe"), deadline: .now + .seconds(10)) { _ in }
    recheckWatches()
  }

  /// Reads the ActiveState of every watched unit again (after a reconnect: signals may be lost).
  private func recheckWatches() {
    for path in watches.keys { refresh(path) }
  }

  /// Reads the watched unit's state again, by name (`LoadUnit`, so an unloaded unit is looked up
  /// on disk), and reports it if it is bad. Errors are ignored: systemd is away, and its return (or
  /// the next connection) triggers another look.
  private func refresh(_ path: String) {
    guard let unit = watches[path]?.unit else { return }
    let deadline = ContinuousClock.now + .seconds(10)
    startCall(MethodCall(member: "LoadUnit", arguments: [unit]), deadline: deadline) { [self] reply in
      guard case .success(let message) = reply, (try? readString(message, "o")) == path else { return }
      let get = MethodCall(
        path: path, interface: "org.freedesktop.DBus.Properties", member: "GetAll",
        arguments: [Self.unitInterface])
      startCall(get, deadline: deadline) { [self] reply in
        guard watches[path] != nil, case .success(let message) = reply,
          let properties = try? readStringProperties(message)
        else { return }
        watches[path]?.activeState = properties["ActiveState"]
        watches[path]?.subState = properties["SubState"]
        if properties["LoadState"] == "not-found", let watch = watches[path], watch.armed {
          watches[path] = nil
          report(watch, kind: .vanished)
        } else {
          evaluate(path)
        }
      }
    }
  }

  /// Reports an armed watch whose unit is now failed or inactive (once per failure).
  private func evaluate(_ path: String) {
    guard var watch = watches[path], let state = watch.activeState else { return }
    switch UnitActiveState(rawValue: state)?.verdict {
    case .running:
      watch.reported = false
    case .notRunning where watch.armed && !watch.reported:
      watch.reported = true
      report(watch, kind: state == UnitActiveState.failed.rawValue ? .failed : .stopped)
    default:
      break
    }
    watches[path] = watch
  }

  private func report(_ watch: Watch, kind: UnitFailure.Kind) {
    failureSink.yield(
      UnitFailure(
        resource: watch.resource, unit: watch.unit, kind: kind, activeState: watch.activeState ?? "",
        subState: watch.subState ?? "", detectedAt: Date()))
  }
}

/// Resumes a continuation at most once, whichever of reply, deadline or shutdown comes first.
private final class Once<T: Sendable>: Sendable {
  private let continuation: Mutex<CheckedContinuation<Result<T, BusError>, Never>?>
  init(_ continuation: CheckedContinuation<Result<T, BusError>, Never>) {
    self.continuation = Mutex(continuation)
  }
  func resume(_ result: Result<T, BusError>) {
    let taken = continuation.withLock { slot in
      defer { slot = nil }
      return slot
    }
    taken?.resume(returning: result)
  }
}

/// Raised when the executor cannot set up its own machinery (not a bus problem: those are retried).
public struct ExecutorSetupError: Error, CustomStringConvertible {
  public var reason: String
  public var description: String { reason }
}

// MARK: - Reading messages

func readString(_ message: OpaquePointer, _ type: Character) throws(BusError) -> String {
  var value: UnsafePointer<CChar>?
  let r = sd_bus_message_read_basic(message, CChar(type.asciiValue ?? 0), &value)
  guard r > 0, let value else { throw .malformedReply("expected '\(type)' (\(r))") }
  return String(cString: value)
}

func readUInt32(_ message: OpaquePointer) throws(BusError) -> UInt32 {
  var value: UInt32 = 0
  let r = sd_bus_message_read_basic(message, CChar(UInt8(ascii: "u")), &value)
  guard r > 0 else { throw .malformedReply("expected 'u' (\(r))") }
  return value
}

/// The string-valued entries of an `a{sv}` (the rest is skipped).
func readStringDictionary(_ message: OpaquePointer) throws(BusError) -> [String: String] {
  let (array, entry, variant) = (CChar(UInt8(ascii: "a")), CChar(UInt8(ascii: "e")), CChar(UInt8(ascii: "v")))
  guard sd_bus_message_enter_container(message, array, "{sv}") > 0 else {
    throw .malformedReply("expected a{sv}")
  }
  var values: [String: String] = [:]
  while sd_bus_message_enter_container(message, entry, "sv") > 0 {
    let key = try readString(message, "s")
    if sd_bus_message_enter_container(message, variant, "s") > 0 {
      values[key] = try readString(message, "s")
      sd_bus_message_exit_container(message)
    } else {
      sd_bus_message_skip(message, "v")
    }
    sd_bus_message_exit_container(message)
  }
  sd_bus_message_exit_container(message)
  return values
}

/// The reply of `Properties.GetAll`: string properties by name.
func readStringProperties(_ message: OpaquePointer) throws(BusError) -> [String: String] {
  try readStringDictionary(message)
}

/// `PropertiesChanged(s interface, a{sv} changed, as invalidated)`.
func readPropertiesChanged(
  _ message: OpaquePointer
) throws(BusError) -> (values: [String: String], invalidated: [String]) {
  _ = try readString(message, "s")
  let values = try readStringDictionary(message)
  var invalidated: [String] = []
  if sd_bus_message_enter_container(message, CChar(UInt8(ascii: "a")), "s") > 0 {
    while let name = try? readString(message, "s") { invalidated.append(name) }
    sd_bus_message_exit_container(message)
  }
  return (values, invalidated)
}
