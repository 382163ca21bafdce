import FaceGate
import FaceGateCore
import FaceGateStore
import FaceGateVision
import Foundation
import Hummingbird

/// `/v1/users…`: the gallery's people. Creating, listing and adding templates or enrollment links need an enroll key;
/// deleting a user an admin key.
struct UsersController {
    let server: FaceGateServer
    var limit: Int { server.config.maxBodyBytes }

    func addRoutes(to v1: RouterGroup<ServerContext>) {
        v1.group("users", scope: .enroll, server: server)
            .post(use: create)
            .get(use: list)
            .post("{id}/templates", use: addTemplates)
            .post("{id}/enrollment-links", use: createLink)
        v1.group("users", scope: .admin, server: server)
            .delete("{id}", use: delete)
    }

    @Sendable func create(_ request: Request, context: ServerContext) async throws -> Response {
        let p = try context.caller()
        let body = try await JSON.decode(FaceGateServer.CreateUser.self, from: request, limit: limit)
        do { try GalleryError.checkName(body.name) } catch { throw APIError.badRequest("\(error)") }
        // The CLI's policy: a per-user threshold only stricter than the global one unless forced, and forcing is
        // an admin's decision (range-checked either way).
        let force = body.force == true
        if force && !p.scope.allows(.admin) { throw APIError.forbidden(.admin) }
        if let t = body.threshold {
            do { try IdentityThreshold.checkPerUser(t, global: server.config.identityThreshold, force: force) }
            catch IdentityError.looserPerUserThreshold(let v, let g) {
                throw APIError.badRequest(String(format: "'threshold': %.3f is looser than the global %.3f: a user's own threshold may only be stricter — send \"force\": true with an admin key to allow it", v, g))
            } catch { throw APIError.badRequest("'threshold': \(error)") }
        }
        if try await server.userExists(body.name) { throw APIError(.conflict, "user_exists", "user '\(body.name)' already exists") }
        let now = Date()
        if let images = body.images, !images.isEmpty {
            let upload = try await server.enrollment(fromBase64: images, user: body.name)
            let templates = upload.collection.templates
            // One person, one identity (#17): a face enrolled as someone else is refused unless an admin forces it.
            if !force, let conflict = try await EnrollmentGuard.check(templates, user: body.name, hasTemplates: false,
                                                                       index: server.index, duplicates: upload.duplicates) {
                throw APIError(.conflict, conflict.code, "\(conflict)")
            }
            do {
                try await server.gallery.enroll(Enrollment(name: body.name, templates: templates, threshold: body.threshold, mode: .create))
            } catch let e as GalleryError {
                if case .wrongKey = e { throw e }   // the key was rotated meanwhile: 503 (RequestLogMiddleware)
                throw APIError(.conflict, "user_exists", "\(e)")
            }
            try await server.index.refresh()
            server.actions?.notify(.enrolled, user: body.name, detail: "\(templates.count) template(s) from uploaded images")
            return try JSON.response(FaceGateServer.UserBody(name: body.name, templates: templates.count, createdAt: now,
                                                             threshold: body.threshold, pending: false), status: .created)
        }
        do { try await server.store.insertPendingUser(PendingUser(name: body.name, threshold: body.threshold, created: now)) }
        catch ServerStoreError.duplicate { throw APIError(.conflict, "user_exists", "user '\(body.name)' already exists") }
        return try JSON.response(FaceGateServer.UserBody(name: body.name, templates: 0, createdAt: now, threshold: body.threshold, pending: true),
                                 status: .created)
    }

    @Sendable func list(_ request: Request, context: ServerContext) async throws -> Response {
        var out = try await server.gallery.listUsers().map {
            FaceGateServer.UserBody(name: $0.name, templates: $0.templateCount, createdAt: $0.created, threshold: $0.threshold, pending: false)
        }
        let names = Set(out.map(\.name))
        out += try await server.store.pendingUsers().filter { !names.contains($0.name) }.map {
            FaceGateServer.UserBody(name: $0.name, templates: 0, createdAt: $0.created, threshold: $0.threshold, pending: true)
        }
        return try JSON.response(FaceGateServer.UsersBody(users: out.sorted { $0.name < $1.name }))
    }

    @Sendable func delete(_ request: Request, context: ServerContext) async throws -> Response {
        let name = try context.parameters.require("id")
        var removed = try await server.store.removePendingUser(name: name)
        do { try await server.gallery.removeUser(named: name); removed = true }
        catch GalleryError.unknownUser { }
        guard removed else { throw APIError.notFound("user '\(name)'") }
        // Links, unfinished sessions and unused session results die with the user (#17).
        try await server.store.forgetUser(name: name, now: Date())
        try await server.index.refresh()
        server.actions?.notify(.removed, user: name)
        return Response(status: .noContent)
    }

    @Sendable func addTemplates(_ request: Request, context: ServerContext) async throws -> Response {
        let p = try context.caller()
        let name = try context.parameters.require("id")
        let body = try await JSON.decode(FaceGateServer.AddTemplates.self, from: request, limit: limit)
        if body.force == true && !p.scope.allows(.admin) { throw APIError.forbidden(.admin) }
        guard try await server.userExists(name) else { throw APIError.notFound("user '\(name)'") }
        let templates: [FaceTemplate], duplicates: [IdentityCandidate]?
        switch (body.images, body.session) {
        case (let images?, nil) where !images.isEmpty:
            let upload = try await server.enrollment(fromBase64: images, user: name)
            (templates, duplicates) = (upload.collection.templates, upload.duplicates)
        case (nil, let sid?):
            templates = try await server.sessionEmbeddings(sid, principal: p, user: name, enrollment: true).map { FaceTemplate(embedding: $0) }
            duplicates = nil
        default:
            throw APIError.badRequest("send either 'images' (base64 JPEG/PNG, one face each) or 'session' (a succeeded session id)")
        }
        let n = try await server.addTemplates(user: name, templates: templates, duplicates: duplicates, force: body.force == true)
        server.actions?.notify(.enrolled, user: name, detail: "\(n) template(s) from \(body.session.map { "session \($0)" } ?? "uploaded images")")
        let total = try await server.gallery.listUsers().first { $0.name == name }?.templateCount ?? n
        return try JSON.response(FaceGateServer.TemplatesAdded(user: name, added: n, templates: total), status: .created)
    }

    @Sendable func createLink(_ request: Request, context: ServerContext) async throws -> Response {
        let name = try context.parameters.require("id")
        guard try await server.userExists(name) else { throw APIError.notFound("user '\(name)'") }
        let token = Secrets.randomToken(bytes: 24)
        let now = Date()
        let link = EnrollLinkRecord(tokenHash: Secrets.sha256Hex(token), user: name, created: now,
                                    expires: now.addingTimeInterval(server.config.enrollLinkTTL), used: nil, sessionID: nil)
        try await server.store.insertLink(link)
        let url = "\(server.baseURL(request).http)/enroll#link=\(token)"
        return try JSON.response(FaceGateServer.LinkCreated(url: url, token: token, expiresAt: link.expires, user: name), status: .created)
    }
}

/// `/v1/enrollments/{token}…`: an enrollment link, authorised by its one-time token (per-IP limit only).
struct EnrollmentLinksController {
    let server: FaceGateServer

    func addRoutes(to v1: RouterGroup<ServerContext>) {
        v1.capabilityGroup("enrollments", server: server)
            .get("{token}", use: info)
            .post("{token}/sessions", use: startSession)
    }

    @Sendable func info(_ request: Request, context: ServerContext) async throws -> Response {
        let l = try await server.usableLink(try context.parameters.require("token"))
        return try JSON.response(FaceGateServer.LinkInfo(user: l.user, expiresAt: l.expires))
    }

    @Sendable func startSession(_ request: Request, context: ServerContext) async throws -> Response {
        let l = try await server.usableLink(try context.parameters.require("token"))
        // The link is consumed by the session it starts (one-time).
        let principal = Principal(id: "link", scope: .verify, ip: server.clientIP(request, context), key: nil)
        let body = FaceGateServer.CreateSession(user: l.user, challenges: nil, mode: nil, plan: nil, seed: nil)
        return try await server.createSession(body, principal: principal, mode: .enroll, link: l.tokenHash, request: request)
    }
}

/// `/v1/verify` and `/v1/identify`: decisions on an uploaded image or a succeeded session (verify key).
struct RecognitionController {
    let server: FaceGateServer
    var limit: Int { server.config.maxBodyBytes }

    func addRoutes(to v1: RouterGroup<ServerContext>) {
        v1.group(scope: .verify, server: server)
            .post("verify", use: verify)
            .post("identify", use: identify)
    }

    @Sendable func verify(_ request: Request, context: ServerContext) async throws -> Response {
        let p = try context.caller()
        let body = try await JSON.decode(FaceGateServer.Probe.self, from: request, limit: limit)
        guard let user = body.user else { throw APIError.badRequest("missing field 'user'") }
        let liveness = try server.probeLiveness(body, principal: p)
        let ctx = server.decisionContext(p, route: "/v1/verify", session: body.session)
        let ticket = try await server.auditedLockoutCheck(user: user, client: body.client, principal: p, context: ctx)
        let probes: [Embedding], v: VerifyResult
        do {
            probes = try await server.probes(body, principal: p, user: user)
            guard try await server.gallery.listUsers().contains(where: { $0.name == user && $0.templateCount > 0 }) else {
                throw APIError.notFound("user '\(user)' (with templates)")
            }
            v = try await server.verifyAll(user: user, probes: probes)
        } catch { await server.releaseLockout(ticket); throw error }
        let decision = ServerDecisions.verify(user: user, match: v.match, distance: v.distance, threshold: v.threshold,
                                              probes: probes.count, context: ctx, snapshotJPEG: FaceGateServer.uploadSnapshot(body.image),
                                              livenessChecked: liveness == .session)
        await server.settle(ticket, decision)
        guard p.scope == .admin else {
            return try JSON.response(FaceGateServer.VerifyBody(user: user, match: v.match, distance: nil, threshold: nil, liveness: liveness))
        }
        return try JSON.response(FaceGateServer.VerifyBody(user: user, match: v.match, distance: FaceGateServer.round(v.distance),
                                                           threshold: v.threshold, liveness: liveness))
    }

    @Sendable func identify(_ request: Request, context: ServerContext) async throws -> Response {
        let p = try context.caller()
        let body = try await JSON.decode(FaceGateServer.Probe.self, from: request, limit: limit)
        let liveness = try server.probeLiveness(body, principal: p)
        let ctx = server.decisionContext(p, route: "/v1/identify", session: body.session)
        let ticket = try await server.auditedLockoutCheck(user: nil, client: body.client, principal: p, context: ctx)
        let probes: [Embedding]
        var results: [IdentifyResult] = []
        do {
            probes = try await server.probes(body, principal: p, user: nil)
            for e in probes { results.append(try await server.index.identify(e)) }
        } catch { await server.releaseLockout(ticket); throw error }
        // Several frames (a session) must agree on one user.
        let names = Set(results.map(\.user))
        let first = results[0]
        let agreed = names.count == 1 ? first.user : nil
        let worst = agreed == nil ? first.distance : results.compactMap(\.distance).max()
        let decision = ServerDecisions.identify(user: agreed, distance: worst, threshold: first.candidates.first?.threshold,
                                                probes: probes.count, context: ctx, snapshotJPEG: FaceGateServer.uploadSnapshot(body.image),
                                                livenessChecked: liveness == .session)
        await server.settle(ticket, decision)
        guard p.scope == .admin else {
            return try JSON.response(FaceGateServer.IdentifyBody(user: agreed, distance: nil, candidates: nil, liveness: liveness))
        }
        return try JSON.response(FaceGateServer.IdentifyBody(
            user: agreed, distance: worst.map(FaceGateServer.round),
            candidates: first.candidates.map { IdentityCandidate(user: $0.user, distance: FaceGateServer.round($0.distance), threshold: $0.threshold) },
            liveness: liveness))
    }
}

extension FaceGateServer {
    struct CreateUser: Decodable {
        var name: String
        var threshold: Double?
        /// Allow a per-user `threshold` looser than the global one (the CLI's `--force`); admin keys only.
        var force: Bool?
        /// Base64 JPEG/PNG images, one face each.
        var images: [String]?
    }
    struct UserBody: Encodable {
        var name: String
        var templates: Int
        var createdAt: Date
        var threshold: Double?
        /// True until the first template is added.
        var pending: Bool
    }
    struct UsersBody: Encodable { var users: [UserBody] }
    struct AddTemplates: Decodable {
        var images: [String]?
        /// A succeeded liveness session whose frames become templates (single use).
        var session: String?
        /// Add a face that belongs to another user or does not match this user's templates (#17); admin keys only.
        var force: Bool?
    }
    struct TemplatesAdded: Encodable { var user: String; var added: Int; var templates: Int }
    struct LinkCreated: Encodable { var url: String; var token: String; var expiresAt: Date; var user: String }
    struct LinkInfo: Encodable { var user: String; var expiresAt: Date }
    struct Probe: Decodable {
        var user: String?
        var image: String?
        var session: String?
        /// The end client as the backend knows it (device id or the person's IP): failures count against it.
        var client: String?
    }
    /// Distance and threshold go to admin keys only (#17, the rule of `IdentifyBody`): a verify key learns the
    /// decision, so it cannot hill-climb a probe towards a claimed user.
    struct VerifyBody: Encodable {
        var user: String; var match: Bool; var distance: Double?; var threshold: Double?
        /// What proved the probe live: `session`, or `not_checked` for an uploaded image.
        var liveness: ProbeLiveness
    }
    /// Distance and the nearest candidates go to admin keys only (#17): a verify key learns the decision, so it can
    /// neither list the gallery nor hill-climb a probe towards a user.
    struct IdentifyBody: Encodable {
        var user: String?
        var distance: Double?
        var candidates: [IdentityCandidate]?
        /// What proved the probe live: `session`, or `not_checked` for an uploaded image.
        var liveness: ProbeLiveness
    }

    /// What proved a verify/identify probe live (stated in every answer).
    enum ProbeLiveness: String, Encodable, Sendable {
        /// The identity anchors of a succeeded liveness session: identity checked on the frames that proved liveness.
        case session
        /// An uploaded image: a face comparison that no liveness check saw (a photo of the person matches).
        case notChecked = "not_checked"
    }

    /// The image-probe policy (#14 item 6: liveness comes first wherever identity is decided, every client is hostile).
    /// `{"image": …}` decides identity with no liveness at all, so a non-admin key must send a succeeded session
    /// unless the operator allowed image probes (`[server] allow_image_probes = true`); admin keys always may (tests,
    /// operators' own checks). Checked before the lockout and any decoding: a refused probe costs nothing and counts
    /// against nobody. A body with both or neither field is the 400 of `probes`.
    func probeLiveness(_ body: Probe, principal: Principal) throws -> ProbeLiveness {
        guard body.image != nil, body.session == nil else { return .session }
        guard principal.scope == .admin || config.allowImageProbes else {
            throw APIError(.forbidden, "image_probe_not_allowed",
                           "an uploaded image is a face comparison that no liveness check saw, and this server requires liveness — create a liveness session (POST /v1/sessions), let the person complete it, then send {\"session\": id} (an operator may allow image probes with [server] allow_image_probes = true)")
        }
        return .notChecked
    }

    /// At most 10 images per request: enough for a multi-pose enrollment, bounded work per request.
    static let maxImages = 10

    static func round(_ d: Double) -> Double { (d * 10000).rounded() / 10000 }

    /// References of an API decision for the audit record and webhooks.
    func decisionContext(_ p: Principal, route: String, session: String?) -> ServerDecisions.Context {
        ServerDecisions.Context(session: session, apiKey: p.key?.id, clientIP: p.ip, instance: config.instance, route: route)
    }

    /// The lockout check-and-reserve of verify/identify (claimed user and the end client the backend names in
    /// `client`); a refusal is audited (`lockedOut`, not counted) and answered 423 (locked) or 429 (every try left
    /// is in progress).
    func auditedLockoutCheck(user: String?, client: String?, principal: Principal,
                             context: ServerDecisions.Context) async throws -> LockoutGate.Ticket {
        let source = try lockoutSource(client: client, principal: principal)
        do { return try await admitLockout(user: user, source: source) }
        catch let e as APIError where e.code == "locked_out" || e.code == "attempts_in_progress" {
            actions?.submit(ServerDecisions.lockedOut(user: user, message: e.message, context: context))
            throw e
        }
    }

    /// The uploaded probe image as the audit snapshot (JPEG uploads only; see `ServerDecisions.snapshot`).
    static func uploadSnapshot(_ b64: String?) -> Data? {
        guard let b64 else { return nil }
        let cleaned = b64.split(separator: ",").last.map(String.init) ?? b64
        return Data(base64Encoded: cleaned, options: .ignoreUnknownCharacters).flatMap(ServerDecisions.snapshot(fromUpload:))
    }

    func userExists(_ name: String) async throws -> Bool {
        if try await gallery.listUsers().contains(where: { $0.name == name }) { return true }
        return try await store.pendingUsers().contains { $0.name == name }
    }

    func usableLink(_ token: String) async throws -> EnrollLinkRecord {
        guard let l = try await store.link(tokenHash: Secrets.sha256Hex(token)) else { throw APIError.notFound("enrollment link") }
        if l.used != nil { throw APIError(.gone, "link_used", "this enrollment link was already used — ask for a new one") }
        if l.expires <= Date() { throw APIError(.gone, "link_expired", "this enrollment link expired — ask for a new one") }
        return l
    }

    /// Embeddings from a request: one image, or a succeeded session's frames.
    func probes(_ body: Probe, principal: Principal, user: String?) async throws -> [Embedding] {
        switch (body.image, body.session) {
        case (let img?, nil): return [try await templates(fromBase64: [img])[0].embedding]
        case (nil, let sid?): return try await sessionEmbeddings(sid, principal: principal, user: user)
        default: throw APIError.badRequest("send either 'image' (base64 JPEG/PNG) or 'session' (a succeeded session id)")
        }
    }

    /// The identity-anchor embeddings of a succeeded session, used up by this decision (#17 item 2: a session proves
    /// one presence, once). Only the API key that created the session may use it (another key gets 404, as for its
    /// status), only once for any decision (verify, identify, enrollment: the row is marked consumed atomically and its
    /// sealed embeddings dropped, so neither a replay nor a restart brings it back), only within
    /// `config.sessionProofWindow` after it succeeded, and only for the user it was created for when one was given
    /// (`user` nil = identify, which such a session may not be used for). Enrollment-link sessions already enrolled.
    /// `enrollment`: only the anchors that passed the enrollment quality gate when the session ended
    /// (`SessionOutcome.enrollableAnchors`); none → 422 before the session is used up.
    func sessionEmbeddings(_ id: String, principal: Principal, user: String?, enrollment: Bool = false,
                           now: Date = Date()) async throws -> [Embedding] {
        guard let r = try await store.session(id: id), r.spec.keyID == principal.key?.id else { throw APIError.notFound("session") }
        guard r.spec.mode == .liveness, r.spec.enrollLink == nil else {
            throw APIError(.conflict, "session_not_usable", "an enrollment session's frames already became the user's templates — create a liveness session")
        }
        guard r.status == .succeeded, let sealed = r.embeddings, !r.consumed else {
            if r.consumed { throw APIError(.conflict, "already_used", "this session's result was already used for a decision — run a new liveness session") }
            throw APIError(.conflict, "session_not_succeeded", "session is \(r.status.rawValue) — only a succeeded liveness session can be used")
        }
        if let bound = r.spec.user, bound != user {
            throw APIError(.conflict, "session_user_mismatch",
                           "this session was created for another user\(user == nil ? " (identify needs a session created without 'user')" : "") — create a session for this user")
        }
        if now.timeIntervalSince(r.updated) > config.sessionProofWindow {
            throw APIError(.gone, "session_result_expired",
                           "the session succeeded more than \(Int(config.sessionProofWindow)) s ago — use its result at once, or run a new session")
        }
        let admissible = enrollment ? r.outcome?.enrollableAnchors : nil
        if let admissible, admissible.isEmpty {
            throw APIError(.unprocessableContent, "no_usable_sample",
                           "none of this session's frames passed the \(config.enrollmentQuality.rawValue) enrollment quality gate — run a new session facing the camera in good light, or upload photos")
        }
        guard try await store.consumeSession(id: id) else {
            throw APIError(.conflict, "already_used", "this session's result was already used for a decision — run a new liveness session")
        }
        let data = try sealer.open(sealed)
        let all = try JSONDecoder().decode([Embedding].self, from: data)
        guard let admissible else { return all }
        return admissible.filter { all.indices.contains($0) }.map { all[$0] }
    }

    /// Uploaded enrollment photos through `EnrollmentSession`, as `facegate enroll IMAGE…`: every photo's subject
    /// through the enrollment quality gate (`identity.quality`; uploads are all-or-nothing, so the first photo that
    /// fails is the 422), then the duplicate-face check (`EnrollmentSession.decide`), whose answer the caller hands to
    /// `EnrollmentGuard` (409 unless an admin forces it).
    func enrollment(fromBase64 images: [String], user: String) async throws -> EnrollmentOutcome {
        let samples = try await samples(fromBase64: images)
        return try await EnrollmentSession.decide(EnrollmentSession.collect(stills: samples), liveness: nil, user: user,
                                                  gate: uploadGate, refuseDuplicates: false, index: index)
    }

    /// Decodes and embeds uploaded images on a worker; each must show exactly one usable face (verify/identify probes).
    func templates(fromBase64 images: [String]) async throws -> [FaceTemplate] {
        try await samples(fromBase64: images).compactMap(\.template)
    }

    /// The quality gate of uploaded photos: `identity.quality`, the photo's subject (as `facegate enroll` on images).
    var uploadGate: QualityGate { QualityGate(level: config.enrollmentQuality) }

    /// Each uploaded image decoded on a worker and examined by `EnrollmentSession.sample(still:…)`; an image that is
    /// not valid base64 is a 400, one refused by its header, its decoder or the gate a 422 naming the image.
    func samples(fromBase64 images: [String]) async throws -> [EnrollmentSample] {
        guard images.count <= Self.maxImages else { throw APIError.badRequest("at most \(Self.maxImages) images per request") }
        var out: [EnrollmentSample] = []
        for (i, b64) in images.enumerated() {
            let cleaned = b64.split(separator: ",").last.map(String.init) ?? b64   // accept data: URLs
            guard let data = Data(base64Encoded: cleaned, options: .ignoreUnknownCharacters), !data.isEmpty else {
                throw APIError.badRequest("image \(i) is not valid base64")
            }
            // Format, size and JPEG scans are checked on the header here, before the image waits for a worker.
            do { _ = try ImageHeader.check(data, .upload) } catch let r as ImageRefusal { throw Self.refused(r, image: i) }
            try checkWorkerQueue()
            let gate = uploadGate
            let sample: EnrollmentSample
            do {
                sample = try await pool.run { engine -> EnrollmentSample in
                    let image = try Image.decode(data, limits: .upload, name: "image \(i)")
                    return EnrollmentSession.sample(still: image, source: "image \(i)", engine: engine, gate: gate)
                }
            } catch let r as ImageRefusal { throw Self.refused(r, image: i) }
            guard sample.accepted else {
                throw APIError(.unprocessableContent, sample.rejections.first?.code ?? "no_face",
                               "image \(i): " + sample.rejections.map(\.description).joined(separator: "; "))
            }
            out.append(sample)
        }
        return out
    }

    /// An uploaded image refused by its header or the bounded decoder: 422 with what to send instead.
    static func refused(_ r: ImageRefusal, image i: Int) -> APIError {
        let code: String
        switch r {
        case .unsupportedFormat: code = "unsupported_image"
        case .tooLarge, .tooManyScans, .tooManyBytes: code = "image_too_large"
        case .malformed, .undecodable: code = "unreadable_image"
        }
        return APIError(.unprocessableContent, code, "image \(i): \(r)")
    }

    /// 503 with Retry-After when the face workers' queues are full, instead of queueing without bound.
    func checkWorkerQueue() throws {
        if pool.queueDepth >= config.maxQueue {
            metrics.shed.increment()
            throw APIError(.serviceUnavailable, "saturated", "the face workers are busy — retry in a few seconds", retryAfter: 2)
        }
    }
}
