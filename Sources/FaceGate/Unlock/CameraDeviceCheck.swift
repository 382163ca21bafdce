import Foundation

/// Refuses virtual cameras before the daemon captures: a v4l2loopback device (what OBS's virtual camera, DroidCam,
/// akvcam-style tools and `ffmpeg -f v4l2` replays use) can feed any video — a recording of the user blinking — to a
/// program that believes it is a sensor. The check reads sysfs (`<root>/class/video4linux/videoN`, its `name`, its
/// `device/driver` link and the device's place in `/sys/devices`):
///
/// - refused, always: a device under `/sys/devices/virtual`, a loopback/virtual driver (`v4l2loopback`, `vivid`,
///   `akvcam`, …), a name virtual-camera software gives its devices ("OBS Virtual Camera", "Dummy video device", …);
/// - refused unless allow-listed: a device with no USB or PCI parent (platform/MIPI cameras can be allowed by path
///   `/dev/videoN` or by VID:PID; an allow-list entry never admits a loopback or virtual device);
/// - allowed: a USB or PCI device (its VID:PID is reported).
///
/// Tests inject `sysfsRoot` (a fake tree); production reads `/sys`.
public struct CameraDeviceCheck: Sendable {
    public var sysfsRoot: String
    /// "046d:0825" (lower-case hex), from the USB parent's idVendor/idProduct or the PCI device's vendor/device.
    public var allowedIDs: Set<String>
    /// Device paths allowed without a USB/PCI parent ("/dev/video0").
    public var allowedPaths: Set<String>

    public init(sysfsRoot: String = "/sys", allowedIDs: Set<String> = [], allowedPaths: Set<String> = []) {
        self.sysfsRoot = sysfsRoot
        self.allowedIDs = Set(allowedIDs.map { $0.lowercased() })
        self.allowedPaths = allowedPaths
    }

    /// Drivers that are not a sensor: loopback devices, the kernel's virtual test driver, AVerMedia/akvcam virtual
    /// cameras. Matched on the driver link's name.
    public static let virtualDrivers: Set<String> = ["v4l2loopback", "v4l2 loopback", "vivid", "akvcam", "v4l2loopback_dc"]
    /// Substrings of device names virtual-camera software sets (lower-cased): v4l2loopback's default "Dummy video
    /// device (0x0000)", OBS's "OBS Virtual Camera"/"OBS Cam", DroidCam, "Virtual Camera" (akvcam, Snap Camera…).
    public static let virtualNames = ["dummy video device", "loopback", "obs virtual", "obs cam", "virtual camera", "virtualcam",
                                      "droidcam", "akvcam", "v4l2loopback"]

    public enum Refusal: Sendable, Equatable, CustomStringConvertible {
        case notAVideoDevice(String)
        case unknownDevice(String)
        case virtualDevice(path: String)
        case virtualDriver(String)
        case virtualName(String)
        case noHardwareParent(path: String)

        public var description: String {
            switch self {
            case .notAVideoDevice(let d): return "\(d) is not a /dev/videoN device"
            case .unknownDevice(let n): return "\(n) is not in sysfs (no such V4L2 device)"
            case .virtualDevice(let p): return "virtual device (\(p))"
            case .virtualDriver(let d): return "virtual camera driver '\(d)'"
            case .virtualName(let n): return "virtual camera name '\(n)'"
            case .noHardwareParent(let p): return "no USB or PCI parent (\(p)); allow it by path or VID:PID if it is a built-in camera"
            }
        }
    }

    public enum Verdict: Sendable, Equatable {
        /// A hardware camera; `id` is its VID:PID when known, `bus` "usb", "pci" or "allow-list".
        case allowed(bus: String, id: String?)
        case refused(Refusal)
    }

    /// Checks `/dev/videoN` (or an index "N", or a symlink such as /dev/v4l/by-id/… resolved first).
    public func check(_ device: String) -> Verdict {
        var path = Int(device).map { "/dev/video\($0)" } ?? device
        if !path.hasPrefix("/dev/video"), FileManager.default.fileExists(atPath: path) {
            path = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        }
        let node = (path as NSString).lastPathComponent
        guard path.hasPrefix("/dev/"), node.hasPrefix("video"), Int(node.dropFirst(5)) != nil else {
            return .refused(.notAVideoDevice(device))
        }
        let classLink = sysfsRoot + "/class/video4linux/" + node
        guard FileManager.default.fileExists(atPath: classLink) else { return .refused(.unknownDevice(node)) }
        // Where the device really is in the device tree (the class entry is a symlink into /sys/devices).
        let real = URL(fileURLWithPath: classLink).resolvingSymlinksInPath().path
        let relative = real.hasPrefix(sysfsRoot) ? String(real.dropFirst(sysfsRoot.count)) : real
        if relative.hasPrefix("/devices/virtual/") { return .refused(.virtualDevice(path: relative)) }
        let driverLink = classLink + "/device/driver"
        if let driver = try? FileManager.default.destinationOfSymbolicLink(atPath: driverLink) {
            let d = (driver as NSString).lastPathComponent
            if Self.virtualDrivers.contains(d.lowercased()) { return .refused(.virtualDriver(d)) }
        }
        let name = ((try? String(contentsOfFile: classLink + "/name", encoding: .utf8)) ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        if Self.virtualNames.contains(where: { name.lowercased().contains($0) }) { return .refused(.virtualName(name)) }
        let components = relative.split(separator: "/").map(String.init)
        if components.contains(where: { $0.hasPrefix("usb") }) { return .allowed(bus: "usb", id: usbID(real)) }
        if components.contains(where: { $0.hasPrefix("pci") }) {
            return .allowed(bus: "pci", id: pciID(classLink + "/device"))
        }
        if allowedPaths.contains(path) { return .allowed(bus: "allow-list", id: nil) }
        // A platform device (MIPI/IPU) may be real: only an explicit allow-list entry admits one.
        if let id = pciID(classLink + "/device") ?? usbID(real), allowedIDs.contains(id) { return .allowed(bus: "allow-list", id: id) }
        return .refused(.noHardwareParent(path: relative))
    }

    /// VID:PID of the nearest USB ancestor with idVendor/idProduct.
    private func usbID(_ real: String) -> String? {
        var dir = real
        while dir.count > sysfsRoot.count + 1 {
            if let v = read(dir + "/idVendor"), let p = read(dir + "/idProduct") { return "\(v):\(p)".lowercased() }
            dir = (dir as NSString).deletingLastPathComponent
        }
        return nil
    }

    private func pciID(_ deviceDir: String) -> String? {
        guard let v = read(deviceDir + "/vendor"), let d = read(deviceDir + "/device") else { return nil }
        func hex(_ s: String) -> String { s.hasPrefix("0x") ? String(s.dropFirst(2)) : s }
        return "\(hex(v)):\(hex(d))".lowercased()
    }

    private func read(_ path: String) -> String? {
        (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
