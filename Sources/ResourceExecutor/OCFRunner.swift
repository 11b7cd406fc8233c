import Foundation
import ResourceModel

/// Runs OCF resource agents (`ocf:PROVIDER:TYPE`) the way Pacemaker does, so the agents of Debian's
/// `resource-agents` package work unchanged.
///
/// The agent is `ROOT/resource.d/PROVIDER/TYPE ACTION`, executed directly (never through a shell)
/// with the request's parameters in its environment (``environment(for:)``). Its exit status is
/// mapped to an ``OCFExitCode``; an overrun timeout kills its whole process group.
public struct OCFRunner: ResourceAgentRunner {
  /// `OCF_ROOT`; agents live under `ROOT/resource.d`. Tests point it at a temporary tree.
  public var root: String
  /// Time between SIGTERM and SIGKILL once an operation overran its timeout.
  public var killGrace: Duration
  /// Bytes kept of each output stream (the tail) for ordinary actions.
  public var outputLimit: Int
  /// Bytes kept of the output of `meta-data`, which is the product itself.
  public var metadataOutputLimit: Int
  /// The environment every agent starts from (PATH, locale, `HA_*` settings); `OCF_*` entries in it
  /// are ignored. Defaults to the executor's own environment.
  public var baseEnvironment: [String: String]
  /// A command that execs the agent (its path and action are appended), e.g.
  /// `["/usr/bin/nsenter", "--net=/run/netns/x", "--"]` to run agents in another network namespace.
  /// It must exec, not fork: the timeout kills the process group of the first process. Empty: none.
  public var launcher: [String]

  public static let defaultRoot = "/usr/lib/ocf"
  static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

  public init(
    root: String = OCFRunner.defaultRoot, killGrace: Duration = .seconds(2), outputLimit: Int = 4096,
    metadataOutputLimit: Int = 1 << 20,
    baseEnvironment: [String: String] = ProcessInfo.processInfo.environment,
    launcher: [String] = []
  ) {
    self.launcher = launcher
    self.root = root
    self.killGrace = killGrace
    self.outputLimit = outputLimit
    self.metadataOutputLimit = metadataOutputLimit
    self.baseEnvironment = baseEnvironment
  }

  /// The agent's executable, or nil when the spec cannot name one (no provider, or a provider or
  /// type that would leave `resource.d`).
  public func executablePath(for agent: AgentSpec) -> String? {
    guard agent.standard == .ocf, let provider = agent.provider else { return nil }
    for part in [provider, agent.type] where part.isEmpty || part.contains("/") || part.hasPrefix(".") {
      return nil
    }
    return "\(root)/resource.d/\(provider)/\(agent.type)"
  }

  /// The agent's whole environment for `request`: the base environment without `OCF_*`, then
  /// `OCF_ROOT`, `OCF_RA_VERSION_*`, `OCF_RESOURCE_INSTANCE/TYPE/PROVIDER`, `OCF_RESKEY_<name>` for
  /// each instance attribute, `OCF_RESKEY_CRM_meta_<name>` for each meta attribute (dashes become
  /// underscores), and `OCF_RESKEY_CRM_meta_timeout`/`_interval` in milliseconds (the effective timeout).
  ///
  /// Throws when a name or value cannot be passed through an environment (`=` in a name, NUL).
  public func environment(for request: OperationRequest) throws(InvalidParameter) -> [String: String] {
    var env = baseEnvironment.filter { !$0.key.hasPrefix("OCF_") }
    if env["PATH"]?.isEmpty ?? true { env["PATH"] = Self.defaultPath }
    // ocf-shellfuncs runs "$SHELL -c" with bash syntax (crm_mon_no_validation's `<(…)`); systemd
    // services have no SHELL.
    if env["SHELL"]?.isEmpty ?? true {
      env["SHELL"] = FileManager.default.isExecutableFile(atPath: "/bin/bash") ? "/bin/bash" : "/bin/sh"
    }
    env["OCF_ROOT"] = root
    env["OCF_RA_VERSION_MAJOR"] = "1"
    env["OCF_RA_VERSION_MINOR"] = "1"
    // An anonymous clone's instances are all known to their agent by the cloned resource's id, as
    // in Pacemaker (agents name promotion scores and look themselves up in crm_mon by it).
    let anonymousInstance = request.meta["clone"] != nil && !Clone.isTrue(request.meta["globally-unique"])
    env["OCF_RESOURCE_INSTANCE"] =
      anonymousInstance ? String(request.resource.prefix { $0 != ":" }) : request.resource
    env["OCF_RESOURCE_TYPE"] = request.agent.type
    env["OCF_RESOURCE_PROVIDER"] = request.agent.provider ?? ""
    for attribute in request.attributes {
      env["OCF_RESKEY_" + attribute.name] = attribute.value
    }
    for (name, value) in request.meta {
      env["OCF_RESKEY_CRM_meta_" + name.replacingOccurrences(of: "-", with: "_")] = value
    }
    env["OCF_RESKEY_CRM_meta_timeout"] = String(request.effectiveTimeoutMs)
    env["OCF_RESKEY_CRM_meta_interval"] = String(request.intervalMs)
    for (name, value) in env {
      if name.isEmpty || name.contains("=") || name.contains("\0") {
        throw InvalidParameter(name: name, reason: "a parameter name must not be empty or contain '=' or NUL")
      }
      if value.contains("\0") {
        throw InvalidParameter(name: name, reason: "a parameter value must not contain NUL")
      }
    }
    return env
  }

  public func run(_ request: OperationRequest) async -> OperationResult {
    let started = ContinuousClock.now
    func finish(_ result: OperationResult) -> OperationResult {
      var result = result
      result.durationMs = milliseconds(ContinuousClock.now - started)
      return result
    }
    guard let path = executablePath(for: request.agent) else {
      return finish(
        OperationResult(
          rc: .notInstalled, status: .notInstalled, output: "invalid OCF agent \(request.agent)"))
    }
    guard FileManager.default.fileExists(atPath: path) else {
      return finish(OperationResult(rc: .notInstalled, status: .notInstalled, output: "\(path) not found"))
    }
    let env: [String: String]
    do {
      env = try environment(for: request)
    } catch {
      return finish(OperationResult(rc: .invalidArguments, status: .error(error.description)))
    }
    let command = launcher + [path, request.action]
    let process = AgentProcess(
      executable: command[0], arguments: Array(command.dropFirst()),
      environment: env.map { "\($0.key)=\($0.value)" }.sorted(),
      timeout: .milliseconds(request.effectiveTimeoutMs), killGrace: killGrace,
      outputLimit: request.action == "meta-data" ? metadataOutputLimit : outputLimit)
    do {
      let outcome = try await process.run()
      var result = OperationResult(
        rc: .genericError, output: outcome.stdout.text, errorOutput: outcome.stderr.text)
      switch outcome.termination {
      case .exited(let status):
        result.rc = OCFExitCode(exitStatus: Int(status))
        result.exitStatus = Int(status)
      case .signaled(let signal):
        result.status = .error("agent terminated by signal \(signal)")
      case .timedOut:
        result.status = .timedOut
      }
      return finish(result)
    } catch {
      switch error {
      case .notFound(let message):
        return finish(OperationResult(rc: .notInstalled, status: .notInstalled, output: message))
      case .permissionDenied(let message):
        return finish(OperationResult(rc: .insufficientPrivileges, status: .error(message)))
      case .failed(let message), .busy(let message):
        return finish(OperationResult(rc: .genericError, status: .error(message)))
      }
    }
  }
}

/// A parameter that cannot be handed to an agent.
public struct InvalidParameter: Error, Equatable, CustomStringConvertible {
  public var name: String
  public var reason: String
  public var description: String { "parameter \(name.debugDescription): \(reason)" }
}

func milliseconds(_ duration: Duration) -> Int {
  let (seconds, attoseconds) = duration.components
  return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
}
