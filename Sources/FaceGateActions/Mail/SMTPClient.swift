import CCurl
import Foundation

/// Sends one prepared message over SMTP with libcurl (STARTTLS or implicit TLS, AUTH when a user is set).
public struct SMTPClient: Sendable {
    public enum Security: String, Sendable { case starttls, tls, none }
    public var url: String
    public var security: Security
    public var user: String?
    public var password: String?
    public var caFile: String?
    public var timeout: TimeInterval

    public init(url: String, security: Security, user: String? = nil, password: String? = nil, caFile: String? = nil,
                timeout: TimeInterval = 30) {
        self.url = url; self.security = security; self.user = user; self.password = password
        self.caFile = caFile; self.timeout = timeout
    }

    /// curl_global_init is not thread-safe; do it once.
    private static let globalInit: Bool = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK }()

    /// Blocking send (call off the decision path). Throws `ActionError.mail` with curl's reason.
    public func send(from: String, to: [String], message: Data) throws {
        guard Self.globalInit else { throw ActionError.mail(code: -1, detail: "curl_global_init failed") }
        guard !to.isEmpty else { throw ActionError.mail(code: -1, detail: "no recipients (mail.to is empty)") }
        guard let curl = curl_easy_init() else { throw ActionError.mail(code: -1, detail: "curl_easy_init failed") }
        defer { curl_easy_cleanup(curl) }

        var rcpt: UnsafeMutablePointer<curl_slist>? = nil
        for r in to { rcpt = curl_slist_append(rcpt, "<\(r)>") }
        defer { curl_slist_free_all(rcpt) }

        let body = ReadState(message)
        let unmanaged = Unmanaged.passRetained(body)
        defer { unmanaged.release() }
        var errbuf = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)

        var setupFailure: CURLcode = CURLE_OK
        func check(_ c: CURLcode) { if c != CURLE_OK && setupFailure == CURLE_OK { setupFailure = c } }
        check(fg_curl_setopt_string(curl, CURLOPT_URL, url))
        check(fg_curl_setopt_string(curl, CURLOPT_MAIL_FROM, "<\(from)>"))
        check(fg_curl_setopt_slist(curl, CURLOPT_MAIL_RCPT, rcpt))
        check(fg_curl_setopt_long(curl, CURLOPT_UPLOAD, 1))
        check(fg_curl_setopt_callback(curl, CURLOPT_READFUNCTION, smtpRead))
        check(fg_curl_setopt_pointer(curl, CURLOPT_READDATA, unmanaged.toOpaque()))
        check(fg_curl_setopt_long(curl, CURLOPT_TIMEOUT_MS, Int(timeout * 1000)))
        check(fg_curl_setopt_long(curl, CURLOPT_CONNECTTIMEOUT_MS, Int(min(timeout, 10) * 1000)))
        check(fg_curl_setopt_long(curl, CURLOPT_NOSIGNAL, 1))
        check(fg_curl_setopt_string(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps"))
        errbuf.withUnsafeMutableBufferPointer { p in check(fg_curl_setopt_pointer(curl, CURLOPT_ERRORBUFFER, p.baseAddress)) }
        switch security {
        case .starttls: check(fg_curl_setopt_long(curl, CURLOPT_USE_SSL, Int(CURLUSESSL_ALL.rawValue)))
        case .tls: check(fg_curl_setopt_long(curl, CURLOPT_USE_SSL, Int(CURLUSESSL_ALL.rawValue)))
        case .none: check(fg_curl_setopt_long(curl, CURLOPT_USE_SSL, Int(CURLUSESSL_NONE.rawValue)))
        }
        if let ca = caFile { check(fg_curl_setopt_string(curl, CURLOPT_CAINFO, ca)) }
        if let u = user, !u.isEmpty {
            check(fg_curl_setopt_string(curl, CURLOPT_USERNAME, u))
            check(fg_curl_setopt_string(curl, CURLOPT_PASSWORD, password ?? ""))
        }
        guard setupFailure == CURLE_OK else {
            throw ActionError.mail(code: Int(setupFailure.rawValue), detail: "setting up libcurl: \(String(cString: curl_easy_strerror(setupFailure)))")
        }
        let rc = errbuf.withUnsafeMutableBufferPointer { _ in curl_easy_perform(curl) }
        guard rc == CURLE_OK else {
            let specific = cString(errbuf)
            let generic = String(cString: curl_easy_strerror(rc))
            var code: Int = 0
            _ = fg_curl_getinfo_long(curl, CURLINFO_RESPONSE_CODE, &code)
            let detail = (specific.isEmpty ? generic : specific) + (code > 0 ? " (last SMTP reply \(code))" : "")
            throw ActionError.mail(code: Int(rc.rawValue), detail: detail)
        }
    }
}

/// The message bytes libcurl reads from.
private final class ReadState {
    let data: Data
    var offset = 0
    init(_ d: Data) { data = d }
}

private let smtpRead: fg_curl_io_callback = { buffer, size, nitems, userdata in
    guard let buffer, let userdata else { return 0 }
    let state = Unmanaged<ReadState>.fromOpaque(userdata).takeUnretainedValue()
    let room = size * nitems
    let n = min(room, state.data.count - state.offset)
    guard n > 0 else { return 0 }
    state.data.withUnsafeBytes { raw in
        let src = raw.baseAddress!.advanced(by: state.offset)
        UnsafeMutableRawPointer(buffer).copyMemory(from: src, byteCount: n)
    }
    state.offset += n
    return n
}
