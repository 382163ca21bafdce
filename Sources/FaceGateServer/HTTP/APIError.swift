import FaceGateCore
import Foundation
import Hummingbird

/// An error answered as JSON: `{"error":{"code":"…","message":"…"}}`. Messages say what to do next and never
/// contain secrets or scores.
public struct APIError: HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    /// Seconds for a Retry-After header (429, 503, 423).
    public var retryAfter: Int?

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String, retryAfter: Int? = nil) {
        self.status = status; self.code = code; self.message = message; self.retryAfter = retryAfter
    }

    struct Body: Encodable {
        struct Inner: Encodable { var code: String; var message: String }
        var error: Inner
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if let r = retryAfter { headers[.retryAfter] = String(r) }
        let data = (try? JSONEncoder().encode(Body(error: .init(code: code, message: message)))) ?? Data("{}".utf8)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func unauthorized() -> APIError {
        APIError(.unauthorized, "unauthorized",
                 "missing or invalid API key — send 'Authorization: Bearer fgk.…' (create one with `facegate keys create --scope verify`)")
    }
    static func forbidden(_ needed: APIScope) -> APIError {
        APIError(.forbidden, "forbidden", "this API key's scope does not allow this — it needs scope '\(needed.rawValue)' or higher")
    }
    static func unsupportedMediaType() -> APIError {
        APIError(.unsupportedMediaType, "unsupported_media_type", "send the body as JSON with 'Content-Type: application/json'")
    }
    static func badRequest(_ message: String) -> APIError { APIError(.badRequest, "bad_request", message) }
    static func notFound(_ what: String) -> APIError { APIError(.notFound, "not_found", "\(what) not found") }
    static func tooLarge(_ limit: Int) -> APIError {
        APIError(.contentTooLarge, "too_large", "request body larger than \(limit) bytes — send smaller or fewer images")
    }
}

/// A `FaceGateError` that reaches a route's caller is answered here, once, from its case (routes throw it as is and
/// never switch on it): input FaceGate cannot use (`exitCode` 2 — no face, several faces, a tiny face, unreadable
/// media, bad input) is 422 with the error's own text (it says what to send instead); a failure of the server itself
/// (models, camera, runtime: `exitCode` 3) is 500 `internal`, its detail only in the server log (`RequestLogMiddleware`).
extension FaceGateError: HTTPResponseError {
    public var status: HTTPResponse.Status { exitCode == 2 ? .unprocessableContent : .internalServerError }

    /// The error body (`{"error":{"code","message"}}`) this error is answered with.
    var apiError: APIError {
        guard exitCode == 2 else { return APIError(.internalServerError, "internal", "internal error — see the server log") }
        let code: String
        switch self {
        case .noFace: code = "no_face"
        case .multipleFaces: code = "multiple_faces"
        case .faceTooSmall: code = "face_too_small"
        case .unreadableMedia: code = "unreadable_image"
        case .missingFile, .badInput, .modelMissing, .modelCorrupt, .cameraUnavailable, .runtime: code = "bad_image"
        }
        return APIError(status, code, description)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        try apiError.response(from: request, context: context)
    }
}

/// JSON response helpers.
enum JSON {
    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        e.dateEncodingStrategy = .iso8601
        return e
    }()
    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }()

    static func response<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func string<T: Encodable>(_ value: T) -> String {
        (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// Decodes a request body (bounded), mapping failures to 400/413.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, limit: Int) async throws -> T {
        // JSON endpoints take `Content-Type: application/json` only: a cross-site HTML form or `fetch` without CORS can
        // send text/plain, form or multipart bodies, never application/json (that needs a CORS preflight) (#17 item 1).
        if let ct = request.headers[.contentType] {
            let media = ct.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
            guard media == "application/json" else { throw APIError.unsupportedMediaType() }
        }
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: limit) } catch { throw APIError.tooLarge(limit) }
        if buffer.readableBytes > 0, request.headers[.contentType] == nil { throw APIError.unsupportedMediaType() }
        if buffer.readableBytes == 0, let empty = try? decoder.decode(T.self, from: Data("{}".utf8)) { return empty }
        do { return try decoder.decode(T.self, from: Data(buffer.readableBytesView)) }
        catch let DecodingError.keyNotFound(k, _) { throw APIError.badRequest("missing field '\(k.stringValue)' in the JSON body") }
        catch let DecodingError.typeMismatch(_, c) {
            throw APIError.badRequest("wrong type for '\(c.codingPath.map(\.stringValue).joined(separator: "."))' in the JSON body")
        }
        catch { throw APIError.badRequest("the body is not valid JSON for this request — see /openapi.yaml") }
    }
}
