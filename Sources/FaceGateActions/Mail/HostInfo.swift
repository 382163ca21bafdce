import Foundation

/// Facts about this computer for alerts: name and interface addresses (from getifaddrs; no network look-up).
public struct HostInfo: Sendable, Hashable, Codable {
    public struct Address: Sendable, Hashable, Codable {
        public var interface: String
        public var address: String
        public var family: String  // "IPv4" / "IPv6"
    }
    public var hostname: String
    /// Non-loopback addresses first; loopback only if there is nothing else.
    public var addresses: [Address]

    public static func current() -> HostInfo {
        var buf = [CChar](repeating: 0, count: 256)
        let name = gethostname(&buf, buf.count) == 0 ? cString(buf) : "unknown-host"
        return HostInfo(hostname: name, addresses: interfaceAddresses())
    }

    public static func interfaceAddresses() -> [Address] {
        var head: UnsafeMutablePointer<ifaddrs>? = nil
        guard getifaddrs(&head) == 0, let first = head else { return [] }
        defer { freeifaddrs(head) }
        var all: [(Address, loopback: Bool)] = []
        var p: UnsafeMutablePointer<ifaddrs>? = first
        while let ifa = p {
            defer { p = ifa.pointee.ifa_next }
            guard let sa = ifa.pointee.ifa_addr else { continue }
            let fam = Int32(sa.pointee.sa_family)
            guard fam == AF_INET || fam == AF_INET6 else { continue }
            let len = socklen_t(fam == AF_INET ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size)
            var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            guard getnameinfo(sa, len, &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST) == 0 else { continue }
            let name = String(cString: ifa.pointee.ifa_name)
            let loop = (Int32(ifa.pointee.ifa_flags) & Int32(IFF_LOOPBACK)) != 0
            all.append((Address(interface: name, address: cString(host), family: fam == AF_INET ? "IPv4" : "IPv6"), loop))
        }
        let external = all.filter { !$0.loopback }.map(\.0)
        return external.isEmpty ? all.map(\.0) : external
    }

    /// "eth0 192.0.2.10, eth0 fe80::1%eth0"
    public var addressLine: String {
        addresses.isEmpty ? "none found" : addresses.map { "\($0.interface) \($0.address)" }.joined(separator: ", ")
    }
}

/// String from a NUL-terminated C buffer.
func cString(_ buf: [CChar]) -> String {
    String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
