import CSystemd
import Glibc

/// Scheduling priority and memory locking for the membership daemon.
///
/// Failure detection is timing: a node that misses heartbeats for the token timeout is declared dead. On a
/// loaded machine an ordinary-priority daemon can be starved or have its pages swapped out for longer than
/// that, and the cluster then fences a healthy node. Like corosync, the daemon therefore runs its threads
/// under `SCHED_RR` and locks its memory. Both are best effort: when they are not permitted (unprivileged
/// runs, containers without `CAP_SYS_NICE`/`CAP_IPC_LOCK`) the daemon still runs and logs what it got.
public enum ProcessPriority {
  /// Puts the calling thread under `SCHED_RR` at `realtimePriority` (clamped to the valid range). Call it
  /// before any other thread is spawned: new threads inherit the policy. When real-time scheduling is
  /// refused, falls back to a nice value of -10. Returns one line describing what was applied, for the log.
  public static func raise(realtimePriority: Int32 = 1) -> String {
    let minimum = sched_get_priority_min(SCHED_RR)
    let maximum = sched_get_priority_max(SCHED_RR)
    let wanted = min(max(realtimePriority, minimum), maximum)

    var current = sched_param()
    let policy = sched_getscheduler(0)
    if (policy == SCHED_RR || policy == SCHED_FIFO) && sched_getparam(0, &current) == 0
      && current.sched_priority >= wanted
    {
      let name = policy == SCHED_RR ? "SCHED_RR" : "SCHED_FIFO"
      return "already real-time: \(name) priority \(current.sched_priority)"
    }

    var parameters = sched_param()
    parameters.sched_priority = wanted
    if sched_setscheduler(0, SCHED_RR, &parameters) == 0 {
      return "real-time scheduling: SCHED_RR priority \(wanted)"
    }
    let rtError = errno

    let nice: Int32 = -10
    if setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, nice) == 0 {
      return "SCHED_RR refused (\(errorText(rtError))); running at nice \(nice) instead"
    }
    let niceError = errno
    return "SCHED_RR refused (\(errorText(rtError))) and nice \(nice) refused (\(errorText(niceError))); "
      + "running at normal priority"
  }

  /// Locks current and future pages in RAM (`mlockall` with `MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT`).
  /// `MCL_ONFAULT` locks pages only as they are touched, so reserved-but-unused thread stacks do not
  /// count as resident. On kernels without `MCL_ONFAULT` (before 4.4) it retries without it. Returns one
  /// line describing the result, or the error.
  public static func lockMemory() -> String {
    let onFault: Int32 = 4  // MCL_ONFAULT, Linux 4.4.
    if mlockall(MCL_CURRENT | MCL_FUTURE | onFault) == 0 {
      return "memory locked (mlockall MCL_CURRENT|MCL_FUTURE|MCL_ONFAULT)"
    }
    var code = errno
    if code == EINVAL {
      if mlockall(MCL_CURRENT | MCL_FUTURE) == 0 {
        return "memory locked (mlockall MCL_CURRENT|MCL_FUTURE; MCL_ONFAULT unsupported)"
      }
      code = errno
    }
    var text = "memory not locked: mlockall: \(errorText(code))"
    var limit = rlimit()  // RLIM_INFINITY is ~0, which Swift cannot import.
    if getrlimit(memlockResource, &limit) == 0 {
      let soft = limit.rlim_cur == rlim_t.max ? "unlimited" : "\(limit.rlim_cur) bytes"
      text += " (RLIMIT_MEMLOCK \(soft))"
    }
    return text
  }
}

/// glibc declares `RLIMIT_MEMLOCK` as a macro for the enum case `__RLIMIT_MEMLOCK`; `getrlimit` takes its
/// raw value.
private let memlockResource = __rlimit_resource_t(__RLIMIT_MEMLOCK.rawValue)

/// `strerror(3)` text for an errno value.
func errorText(_ code: Int32) -> String {
  String(cString: strerror(code))
}
