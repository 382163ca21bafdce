import FaceGate
import FaceGateCore
import FaceGateStore
import Foundation
import Hummingbird
import HummingbirdWebSocket
import NIOWebSocket

/// `/v1/sessions…`: liveness sessions. Creating and reading one need a verify key; the stream is authorised by the
/// session's token in its URL (per-IP limit only; the WebSocket itself is `FaceGateServer.addStreamRoute`).
struct SessionsController {
    let server: FaceGateServer

    func addRoutes(to v1: RouterGroup<ServerContext>) {
        v1.group("sessions", scope: .verify, server: server)
            .post(use: create)
            .get("{id}", use: status)
        v1.capabilityGroup("sessions", server: server)
            .get("{id}/stream", use: streamWithoutUpgrade)
    }

    @Sendable func create(_ request: Request, context: ServerContext) async throws -> Response {
        let caller = try context.caller()
        let body = try await JSON.decode(FaceGateServer.CreateSession.self, from: request, limit: 64 * 1024)
        return try await server.createSession(body, principal: caller, mode: .liveness, link: nil, request: request)
    }

    @Sendable func status(_ request: Request, context: ServerContext) async throws -> Response {
        let p = try context.caller()
        let id = try context.parameters.require("id")
        guard let r = try await server.store.session(id: id) else { throw APIError.notFound("session") }
        if p.scope != .admin, p.id != "local", r.spec.keyID != p.id, r.spec.keyID != nil {
            throw APIError.notFound("session")
        }
        var status = r.status
        if !status.isFinal && r.expires <= Date() { status = .expired }
        return try JSON.response(FaceGateServer.SessionStatusBody(
            id: r.id, status: status.rawValue, mode: r.spec.mode.rawValue, liveness: r.spec.liveness ?? LivenessMode.active.rawValue,
            user: r.spec.user, createdAt: r.created,
            expiresAt: r.expires, updatedAt: r.updated, instance: r.instance, decision: r.outcome,
            challenges: status.isFinal ? r.spec.challenges : nil))
    }

    /// Reached when the request is not a WebSocket upgrade (or the upgrade was refused): explains why.
    @Sendable func streamWithoutUpgrade(_ request: Request, context: ServerContext) async throws -> Response {
        let id = try context.parameters.require("id")
        _ = try await server.streamableSession(id: id, token: request.uri.queryParameters["token"].map(String.init))
        if await server.streamsSaturated() {
            throw APIError(.serviceUnavailable, "saturated", "the server is at capacity — retry in a few seconds", retryAfter: 2)
        }
        throw APIError(.upgradeRequired, "upgrade_required", "connect with a WebSocket client (Upgrade: websocket) to stream frames")
    }
}

extension FaceGateServer {
    struct CreateSession: Decodable {
        /// User to verify against after liveness.
        var user: String?
        /// Number of challenges (1…5).
        var challenges: Int?
        /// Liveness mode: "active" (challenges), "passive" (a short capture, then the passive cues decide) or "both"
        /// (challenges and passive cues on the same frames). Default: the server's `liveness.mode` (active).
        var mode: String?
        /// Admin only (tests, demos): explicit challenge list, or a seed for a reproducible plan.
        var plan: [String]?
        var seed: UInt64?
        /// The end client as the backend knows it (a device id or the person's IP address): failed attempts count
        /// against it (and the user), never against the backend's key or address.
        var client: String? = nil
    }
    struct SessionCreated: Encodable {
        var id: String
        var expiresAt: Date
        var websocket: String
        /// The hosted page for this session (for redirecting a browser).
        var url: String
    }
    struct SessionStatusBody: Encodable {
        var id: String
        var status: String
        var mode: String
        /// Liveness checks: active, passive or both.
        var liveness: String
        var user: String?
        var createdAt: Date
        var expiresAt: Date
        var updatedAt: Date
        var instance: String?
        var decision: SessionOutcome?
        /// The plan is only revealed once the session is over.
        var challenges: [String]?
    }

    /// Largest challenge count a client may ask for: 5 keeps a session under ~30 s.
    static let maxChallenges = 5
    /// Largest explicit (admin) plan.
    static let maxExplicitPlan = 10

    /// Creates a session (API or enrollment link).
    func createSession(_ body: CreateSession, principal: Principal, mode: SessionMode, link: String?, request: Request) async throws -> Response {
        let liveness: LivenessMode
        if let m = body.mode {
            guard let lm = LivenessMode(rawValue: m) else {
                throw APIError(.unprocessableContent, "unsupported_mode", "liveness mode '\(m)' is not available — use \"active\", \"passive\" or \"both\"")
            }
            liveness = lm
        } else {
            liveness = configuredLivenessMode
        }
        // The configuration sets the minimum (#17): a non-admin caller may ask for more challenges and for "both", never
        // for fewer challenges or a different mode than the configured one (admin keys may, like 'plan'/'seed': tests, demos).
        if principal.scope != .admin {
            let configured = configuredLivenessMode
            if liveness != configured && liveness != .both {
                throw APIError(.unprocessableContent, "below_policy",
                               "this server requires liveness mode \"\(configured.rawValue)\" (or \"both\") — leave out 'mode' or ask for \"both\"")
            }
            if let n = body.challenges, configured.runsChallenges, n < config.challenges {
                throw APIError(.unprocessableContent, "below_policy",
                               "this server requires at least \(config.challenges) challenges — ask for \(config.challenges)…\(Self.maxChallenges)")
            }
        }
        if liveness == .passive, body.challenges != nil || body.plan != nil || body.seed != nil {
            throw APIError.badRequest("mode \"passive\" asks no challenges — leave out 'challenges', 'plan' and 'seed'")
        }
        if liveness.runsPassive { try checkPassiveAvailable() }
        // Load shedding: keep existing sessions responsive rather than queueing without bound.
        let active = await sessions.count
        let shutting = await sessions.isShuttingDown
        if active >= config.maxSessions || pool.queueDepth > config.maxQueue || shutting {
            metrics.shed.increment()
            throw APIError(.serviceUnavailable, "saturated", "the server is at capacity — retry in a few seconds", retryAfter: 2)
        }
        if let user = body.user {
            do { try GalleryError.checkName(user) } catch { throw APIError.badRequest("\(error)") }
            if mode == .liveness {
                let known = try await gallery.listUsers().contains { $0.name == user && $0.templateCount > 0 }
                guard known else { throw APIError.notFound("user '\(user)' (with templates)") }
            }
        }
        // Refused early when locked; the session reserves its try only when its stream starts (`stream`), so a
        // session never opened (the person closed the tab first) holds nothing.
        let lockoutSource = try lockoutSource(client: body.client, principal: principal)
        try await checkLockout(user: body.user, source: lockoutSource)
        let plan: ChallengePlan
        do {
            if body.plan != nil || body.seed != nil {
                guard principal.scope == .admin else {
                    throw APIError(.forbidden, "forbidden", "'plan' and 'seed' fix the challenges and are for tests only — they need an admin key")
                }
            }
            if liveness == .passive {
                plan = .passiveOnly
            } else if let list = body.plan {
                guard !list.isEmpty, list.count <= Self.maxExplicitPlan else { throw APIError.badRequest("'plan' needs 1…\(Self.maxExplicitPlan) challenges") }
                plan = try ChallengePlan(explicit: ChallengeType.parseList(list.joined(separator: ",")))
            } else {
                let n = body.challenges ?? config.challenges
                guard (1...Self.maxChallenges).contains(n) else { throw APIError.badRequest("'challenges' must be 1…\(Self.maxChallenges)") }
                if let seed = body.seed { plan = try ChallengePlan(seed: seed, count: n, allowed: config.challengeTypes) }
                else { plan = try ChallengePlan.random(count: n, allowed: config.challengeTypes) }
            }
        } catch let e as APIError { throw e } catch { throw APIError.badRequest("\(error)") }

        let now = Date()
        let id = UUID().uuidString.lowercased()
        let token = Secrets.randomToken(bytes: 24)
        let spec = SessionSpec(mode: mode, user: body.user, nonce: plan.isRandom ? plan.nonceHex : nil,
                               challenges: plan.challenges.map(\.rawValue), allowed: plan.allowed.map(\.rawValue),
                               keyID: principal.key?.id, enrollLink: link, source: principal.ip, liveness: liveness.rawValue,
                               lockoutSource: lockoutSource?.key)
        let rec = SessionRecord(id: id, tokenHash: Secrets.sha256Hex(token), status: .created, created: now,
                                expires: now.addingTimeInterval(config.sessionTTL), updated: now, instance: nil, spec: spec,
                                outcome: nil, embeddings: nil, consumed: false)
        // An enrollment link is consumed atomically by the session it starts (one-time).
        if let link, !(try await store.useLink(tokenHash: link, sessionID: id, now: now)) {
            throw APIError(.gone, "link_used", "this enrollment link was already used — ask for a new one")
        }
        try await store.insertSession(rec)
        let base = baseURL(request)
        let ws = "\(base.ws)/v1/sessions/\(id)/stream?token=\(token)"
        let page = "\(base.http)/\(mode == .enroll ? "enroll" : "")#session=\(id)&token=\(token)"
        return try JSON.response(SessionCreated(id: id, expiresAt: rec.expires, websocket: ws, url: page), status: .created)
    }

    /// The configured default liveness mode, by the library's one rule (`LivenessModeRule`, as the CLI's): "active"
    /// runs as "both" when passive models are configured (`liveness.pad_models` / `liveness.model`, the server's
    /// `--pad-model` / `--model`) or an anti-spoof model is installed and used (`liveness.use_installed_models`).
    var configuredLivenessMode: LivenessMode {
        LivenessModeRule.mode(LivenessModeInputs(configured: config.livenessMode,
                                                 passiveRequested: !config.padModels.isEmpty || config.livenessModel != nil,
                                                 useInstalledModels: config.useInstalledPadModels), models: config.models)
    }

    /// The same cap as session creation, applied again at the WebSocket upgrade (#17): sessions created earlier (or on
    /// another instance) cannot all start streaming here at once.
    func streamsSaturated() async -> Bool {
        await sessions.count >= config.maxSessions || pool.queueDepth > config.maxQueue
    }

    /// The session if the token is right and it can still be streamed; typed HTTP errors otherwise.
    func streamableSession(id: String, token: String?) async throws -> SessionRecord {
        guard let r = try await store.session(id: id) else { throw APIError.notFound("session") }
        guard let token, Secrets.constantTimeEquals(Secrets.sha256Hex(token), r.tokenHash) else {
            throw APIError(.unauthorized, "bad_token", "missing or wrong stream token — use the 'websocket' URL returned when the session was created")
        }
        if r.status == .expired || (!r.status.isFinal && r.expires <= Date()) {
            throw APIError(.gone, "expired", "the session expired — create a new one")
        }
        guard r.status == .created else {
            throw APIError(.conflict, "already_used", "sessions are single-use and this one is \(r.status.rawValue) — create a new one")
        }
        return r
    }

    func addStreamRoute(_ router: Router<ServerContext>) {
        router.ws("/v1/sessions/{id}/stream") { request, context in
            guard let id = context.parameters.get("id") else { return .dontUpgrade }
            guard self.ipLimiter.take("ip:" + context.peerIP) == nil else { return .dontUpgrade }
            guard (try? await self.streamableSession(id: id, token: request.uri.queryParameters["token"].map(String.init))) != nil,
                  !(await self.sessions.isShuttingDown), !(await self.streamsSaturated()),
                  (try? await self.store.claimSession(id: id, instance: self.config.instance, now: Date())) == true
            else { return .dontUpgrade }
            return .upgrade([:])
        } onUpgrade: { inbound, outbound, wsContext in
            guard let id = wsContext.requestContext.parameters.get("id"),
                  let rec = try? await self.store.session(id: id) else {
                try? await outbound.close(.unexpectedServerError, reason: "session vanished")
                return
            }
            await self.stream(rec, inbound: inbound, outbound: outbound)
        }
    }

    /// Runs one stream to its end.
    func stream(_ rec: SessionRecord, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async {
        let plan: ChallengePlan
        do {
            let types = try rec.spec.challenges.map { n -> ChallengeType in
                guard let t = ChallengeType(rawValue: n) else { throw ActiveLivenessError.unknownChallenge(n) }
                return t
            }
            if rec.spec.liveness == LivenessMode.passive.rawValue {
                plan = .passiveOnly
            } else if let n = rec.spec.nonce {
                plan = try ChallengePlan(nonce: ChallengePlan.nonce(hex: n), count: types.count,
                                         allowed: rec.spec.allowed.compactMap(ChallengeType.init(rawValue:)))
            } else { plan = try ChallengePlan(explicit: types) }
        } catch {
            try? await outbound.close(.unexpectedServerError, reason: "bad plan")
            return
        }
        let live = LiveStream(record: rec, server: self, outbound: outbound, plan: plan)
        guard await sessions.add(live) else {
            await live.abort(reason: "server_shutdown", closeCode: .goingAway)
            return
        }
        metrics.activeSessions.set(Double(await sessions.count))
        defer { Task { await self.sessions.remove(rec.id); self.metrics.activeSessions.set(Double(await self.sessions.count)) } }
        // Check-and-reserve: the stream holds one try of its user and client until it ends; a parallel burst of
        // streams gets at most the tries left, the others end with `locked_out` (counted by nobody).
        do {
            _ = try await lockout.admit(user: rec.spec.user, source: rec.spec.lockoutSource.flatMap(LockoutSubject.init(key:)),
                                        attempt: rec.id, holdFor: max(0, rec.expires.timeIntervalSinceNow) + Self.lockoutHoldMargin)
        } catch let r as LockoutGate.Refused {
            await live.fail(reason: "locked_out", denial: .lockedOut, message: r.description, closeCode: .policyViolation)
            return
        } catch {
            logger.error("lockout check failed", metadata: ["session": "\(rec.id)", "error": "\(error)"])
            await live.fail(reason: "lockout_unavailable", denial: .error, message: "the server cannot check the lockout right now — retry shortly",
                            closeCode: .unexpectedServerError)
            return
        }
        do { try await live.start() } catch { await live.disconnected(); return }

        await withTaskGroup(of: Void.self) { group in
            group.addTask { await live.processLoop() }
            group.addTask {
                // Watchdog: expiry and frame timeout, 4 checks per second.
                while await live.tick() { try? await Task.sleep(for: .milliseconds(250)) }
            }
            group.addTask {
                do {
                    for try await message in inbound.messages(maxSize: self.config.maxFrameBytes * 2 + 64) {
                        switch message {
                        case .binary(let buffer): await live.receive(Array(buffer.readableBytesView))
                        case .text(let s): await live.receiveText(s)
                        }
                    }
                } catch {
                    await live.close(.frameTooLarge, "message larger than the frame limit")
                }
                await live.disconnected()
            }
            // The first task to end (result, close, disconnect) ends the stream.
            await group.next()
            await live.disconnected()
            group.cancelAll()
        }
    }

    // MARK: liveness mode of a session

    /// What a session's stream runs: its mode, and the passive part's models from this server's configuration.
    func livenessSetup(for spec: SessionSpec) -> SessionLivenessSetup {
        let mode = spec.liveness.flatMap(LivenessMode.init(rawValue:)) ?? .active
        guard mode.runsPassive else { return .active }
        let cfg = config
        return SessionLivenessSetup(mode: mode, passiveMode: cfg.passiveMode, captureFrames: cfg.passiveFrames,
                                    loadPassive: { try cfg.passiveOptions() })
    }

    /// Refuses passive/both sessions (503) when the configured passive models cannot be loaded, so a stream never
    /// starts that would fail on its first frame. Checked once per server configuration.
    func checkPassiveAvailable() throws {
        let key = "\(config.padModels)|\(config.livenessModel ?? "")|\(config.useInstalledPadModels)|\(config.models)"
        if let error = PassiveAvailability.shared.check(key, { _ = try self.config.passiveOptions() }) {
            throw APIError(.serviceUnavailable, "passive_unavailable",
                           "passive liveness is misconfigured on this server (\(error)) — fix liveness.pad_models / liveness.model, or use mode \"active\"")
        }
    }

    // MARK: identity steps of a session

    /// The enrollment quality gate of a session's anchors (`identity.quality`, as `facegate enroll`): one face in the
    /// frame (a stream frame has no "subject of a photo").
    var enrollmentGate: QualityGate {
        var gate = QualityGate(level: config.enrollmentQuality)
        gate.allowSeveralFaces = false
        return gate
    }

    /// 1:1 on every probe: all must match; the reported distance is the worst.
    func verifyAll(user: String, probes: [Embedding]) async throws -> VerifyResult {
        guard !probes.isEmpty else { throw FaceGateError.noFace("the session's frames") }
        var worst: VerifyResult?
        for p in probes {
            let v = try await index.verify(user: user, probe: p)
            if worst == nil || v.distance > worst!.distance { worst = v }
        }
        return VerifyResult(match: worst!.match, distance: worst!.distance, threshold: worst!.threshold)
    }

    /// Appends templates to a user (creating them from a pending record or anew).
    /// `duplicates`: the duplicate check's answer when the caller already ran it (`EnrollmentSession.decide`).
    /// The face must not belong to another user and must match the user's existing templates (`EnrollmentGuard`,
    /// #17): 409 otherwise, unless `force` (an admin key's `"force": true`).
    func addTemplates(user: String, templates: [FaceTemplate], duplicates: [IdentityCandidate]? = nil, force: Bool = false) async throws -> Int {
        guard !templates.isEmpty else { throw FaceGateError.noFace("the given input") }
        let stored = try await gallery.listUsers().first { $0.name == user }
        let exists = stored != nil
        let pending = try await store.pendingUsers().first { $0.name == user }
        // A user deleted meanwhile (a link session still streaming) is not re-created by its templates (#17).
        guard exists || pending != nil else { throw APIError.notFound("user '\(user)' (deleted)") }
        if let conflict = try await EnrollmentGuard.check(templates, user: user, hasTemplates: (stored?.templateCount ?? 0) > 0,
                                                           index: index, duplicates: duplicates) {
            guard force else { throw APIError(.conflict, conflict.code, "\(conflict)") }
            logger.warning("enrollment forced by an admin key", metadata: ["user": "\(user)", "conflict": "\(conflict.code)"])
        }
        try await gallery.enroll(Enrollment(name: user, templates: templates, threshold: pending?.threshold,
                                            mode: exists ? .append : .create))
        if pending != nil { _ = try await store.removePendingUser(name: user) }
        try await index.refresh()
        return templates.count
    }

    // MARK: lockout

    /// The status only (session creation): 423 locked, 429 every try in progress.
    func checkLockout(user: String?, source: LockoutSubject?) async throws {
        let st = try await lockout.status(user: user, source: source)
        if st.refuses { throw Self.lockoutError(st) }
    }

    static func lockoutError(_ st: LockoutStatus) -> APIError {
        if case .busy = st {
            return APIError(.tooManyRequests, "attempts_in_progress", st.message ?? "attempts in progress", retryAfter: st.retryAfterSeconds)
        }
        return APIError(.init(code: 423, reasonPhrase: "Locked"), "locked_out", st.message ?? "locked out", retryAfter: st.retryAfterSeconds)
    }

    /// Seconds a session's reservation outlives the session's expiry: time for a stream cut at expiry to conclude.
    static let lockoutHoldMargin: TimeInterval = 30
    /// Seconds a verify/identify request holds its try: far longer than embedding ≤ 10 images on a busy worker.
    static let lockoutRequestHold: TimeInterval = 60

    /// The source a request's failures count against: the end client the backend names in `client`; for an
    /// enrollment link (the person's own browser calls) its address. Never the backend's key or address.
    func lockoutSource(client: String?, principal: Principal) throws -> LockoutSubject? {
        do {
            if let s = try LockoutSubject.client(hint: client) { return s }
        } catch let e as LockoutHintError { throw APIError.badRequest(e.description) }
        return principal.id == "link" ? .source("ip:" + principal.ip) : nil
    }

    /// Check-and-reserve in one transaction (`LockoutGate.admit`): 423 when locked, 429 when every try left is in
    /// progress (a parallel burst).
    func admitLockout(user: String?, source: LockoutSubject?, attempt: String = UUID().uuidString.lowercased(),
                      holdFor: TimeInterval = lockoutRequestHold) async throws -> LockoutGate.Ticket {
        do {
            return try await lockout.admit(user: user, source: source, attempt: attempt, holdFor: holdFor)
        } catch let r as LockoutGate.Refused { throw Self.lockoutError(r.status) }
    }

    /// Ends a decided attempt through the runtime's one settle path (`AttemptSettlement`): the lockout counts the
    /// decision (`Decision.lockoutEffect`), the actions layer records it; a lockout error is logged (never fails the
    /// answer) and the decision is still recorded.
    func settle(_ ticket: LockoutGate.Ticket, _ decision: Decision) async {
        let actions = self.actions
        do { try await AttemptSettlement(lockout: lockout, ticket: ticket).settle(with: decision) { actions?.submit($0) } }
        catch { logger.error("lockout bookkeeping failed", metadata: ["error": "\(error)"]) }
    }

    /// Frees the try of an attempt that ended without a decision (bad input, internal error).
    func releaseLockout(_ ticket: LockoutGate.Ticket) async {
        do { try await AttemptSettlement(lockout: lockout, ticket: ticket).release() }
        catch { logger.error("lockout bookkeeping failed", metadata: ["error": "\(error)"]) }
    }

    /// A streamed session's lockout ticket: attempt id = session id (reserved when its stream started), the claimed
    /// user and the end client it was created for. A cancel, disconnect, stalled stream, protocol error or shutdown
    /// frees its try; only a failed liveness check, a face that does not match or an expiry counts.
    func sessionTicket(_ id: String, spec: SessionSpec) -> LockoutGate.Ticket {
        LockoutGate.Ticket(attempt: id, subjects: LockoutSubject.of(user: spec.user, source: nil)
                           + (spec.lockoutSource.flatMap(LockoutSubject.init(key:)).map { [$0] } ?? []))
    }
}

/// Remembers whether a passive configuration could be loaded (the check loads the networks once).
final class PassiveAvailability: @unchecked Sendable {
    static let shared = PassiveAvailability()
    private let lock = NSLock()
    private var results: [String: String?] = [:]

    /// nil when loadable; the error text otherwise.
    func check(_ key: String, _ load: () throws -> Void) -> String? {
        if let r = lock.withLock({ results[key] }) { return r }
        var failure: String?
        do { try load() } catch { failure = "\(error)" }
        lock.withLock { results[key] = .some(failure) }
        return failure
    }
}
