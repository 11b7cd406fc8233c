import Glibc

/// The identity of the process at the other end of a Unix socket, as the kernel recorded it when the
/// connection was made (`SO_PEERCRED`). Unlike anything the client says about itself, it cannot be forged.
public struct PeerCredentials: Sendable, Equatable {
  /// The peer's process id.
  public var pid: Int32
  /// The peer's effective user id.
  public var uid: UInt32
  /// The peer's effective group id.
  public var gid: UInt32

  /// Credentials with the given ids.
  public init(pid: Int32, uid: UInt32, gid: UInt32) {
    self.pid = pid
    self.uid = uid
    self.gid = gid
  }
}

/// Who may talk to the daemons' control sockets.
///
/// The socket file is mode 0660 group `haclient`, but file permissions are checked only at `connect`
/// time and can be loosened by mistake; the daemons therefore re-check every accepted connection: root is
/// allowed, and so is any user whose primary or supplementary groups (from the user database) include the
/// cluster administrators' group, or whose effective gid is that group.
public enum ClientAccess {
  /// The credentials of the peer of a connected `AF_UNIX` socket, or nil when `getsockopt` fails (not a
  /// Unix socket, not connected).
  public static func credentials(ofSocket fd: Int32) -> PeerCredentials? {
    // struct ucred { pid_t pid; uid_t uid; gid_t gid; } is hidden behind _GNU_SOURCE: read it as bytes.
    let size = 3 * MemoryLayout<UInt32>.size
    return withUnsafeTemporaryAllocation(byteCount: size, alignment: MemoryLayout<UInt32>.alignment) {
      buffer -> PeerCredentials? in
      var length = socklen_t(size)
      guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, buffer.baseAddress, &length) == 0, Int(length) == size
      else { return nil }
      return PeerCredentials(
        pid: buffer.load(fromByteOffset: 0, as: Int32.self),
        uid: buffer.load(fromByteOffset: 4, as: UInt32.self),
        gid: buffer.load(fromByteOffset: 8, as: UInt32.self))
    }
  }

  /// Whether a peer may use the control socket: uid 0, or a member of `group`. When the group does not
  /// exist only root is allowed.
  public static func isAllowed(_ c: PeerCredentials, group: String = "haclient") -> Bool {
    if c.uid == 0 { return true }
    guard let groupId = groupId(named: group) else { return false }
    if c.gid == groupId { return true }
    guard let user = userEntry(uid: c.uid) else { return false }
    if user.gid == groupId { return true }
    return groupList(user: user.name, primary: user.gid).contains(groupId)
  }

  /// The numeric id of a group (`getgrnam_r`), or nil when there is no such group.
  public static func groupId(named name: String) -> UInt32? {
    withGrowingBuffer(initial: sysconf(Int32(_SC_GETGR_R_SIZE_MAX))) { buffer -> (Int32, UInt32?) in
      var entry = group()
      var result: UnsafeMutablePointer<group>?
      let code = getgrnam_r(name, &entry, buffer.baseAddress!, buffer.count, &result)
      return (code, code == 0 && result != nil ? entry.gr_gid : nil)
    }
  }

  private static func userEntry(uid: UInt32) -> (name: String, gid: UInt32)? {
    withGrowingBuffer(initial: sysconf(Int32(_SC_GETPW_R_SIZE_MAX))) {
      buffer -> (Int32, (name: String, gid: UInt32)?) in
      var entry = passwd()
      var result: UnsafeMutablePointer<passwd>?
      let code = getpwuid_r(uid, &entry, buffer.baseAddress!, buffer.count, &result)
      guard code == 0, result != nil, let name = entry.pw_name else { return (code, nil) }
      return (0, (String(cString: name), entry.pw_gid))
    }
  }

  /// All groups of `user` (`getgrouplist`), `primary` included.
  private static func groupList(user: String, primary: UInt32) -> [UInt32] {
    var count: Int32 = 32
    while count <= 65_536 {
      var groups = [gid_t](repeating: 0, count: Int(count))
      var found = count
      if getgrouplist(user, primary, &groups, &found) >= 0 {
        return Array(groups.prefix(Int(max(found, 0))))
      }
      // Too small: glibc stored the needed size in `found`.
      count = max(found, count * 2)
    }
    return [primary]
  }

  /// Runs a `get*_r` call with a scratch buffer, doubling it while the call answers ERANGE.
  private static func withGrowingBuffer<T>(
    initial: Int, _ body: (UnsafeMutableBufferPointer<CChar>) -> (Int32, T?)
  ) -> T? {
    var size = initial > 0 ? initial : 1024
    while size <= 1 << 20 {
      var storage = [CChar](repeating: 0, count: size)
      let (status, answer) = storage.withUnsafeMutableBufferPointer { body($0) }
      if status != ERANGE { return answer }
      size *= 2
    }
    return nil
  }
}
