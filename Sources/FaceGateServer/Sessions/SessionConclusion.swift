import FaceGate
import FaceGateCore
import FaceGateStore
import Foundation

/// How a session that reached a liveness result ends, as its browser is told: chosen from the typed result (the
/// liveness failure, the identity step), rendered to text only here. Pass/fail and a generic hint, never scores,
/// thresholds or cue names.
enum SessionEnding: Sendable, Equatable {
    case verified
    case enrolled
    /// Liveness failed (nil: not live without a typed failure).
    case notLive(LivenessFailure?)
    /// Live, but the face does not match the claimed user.
    case noMatch
    /// Live, but the identity step could not be completed (a store error, a refused enrollment sample).
    case identityStepFailed(SessionMode)

    var message: String {
        switch self {
        case .verified: return "Verified — you are live"
        case .enrolled: return "Enrolled — you can now verify with your face"
        case .noMatch: return "Not verified"
        case .identityStepFailed(let mode): return mode == .enroll ? "Enrollment failed — try again" : "Not verified — start again"
        case .notLive(nil): return "Not verified — start again"
        case .notLive(let failure?):
            switch failure {
            case .noStableFace, .insufficientSignal: return "We could not see your face clearly — look straight at the camera in good light"
            case .challengeTimeout, .noReturnToNeutral, .wrongAction, .reactionTooFast:
                return "The requested movement was not seen — follow each prompt after it appears"
            case .faceLost: return "Your face left the camera view — stay in the oval"
            case .multipleFaces: return "More than one face was in view — only one person may be in front of the camera"
            case .identityChanged: return "Not verified"
            case .sessionTimeout: return "The check took too long — start again"
            // A replay, a presentation attack or an unconfirmed face learns nothing about what gave it away.
            case .inputEnded, .presentationAttack, .notConfirmed: return "Not verified — start again"
            }
        }
    }
}

/// A decided session, ready to be stored and answered.
struct SessionConclusion: Sendable {
    var status: SessionStatus
    var outcome: SessionOutcome
    var ending: SessionEnding
}

extension FaceGateServer {
    /// The identity step of a session whose liveness is decided, through the runtime layer the CLI uses: a liveness
    /// session with a user is verified 1:1 on its anchors (`AuthenticationSession.decide`, as `facegate authenticate`);
    /// an enrollment session's anchors go through `EnrollmentSession` (the quality gate and duplicate-face check of
    /// `facegate enroll`) and are stored by `addTemplates` (`EnrollmentGuard`). A live liveness session records which
    /// anchors may later become templates. No I/O on the stream: `LiveStream` only sends the answer.
    func conclude(_ record: SessionRecord, pipeline: SessionPipeline, result r: LivenessResult) async -> SessionConclusion {
        let anchors = pipeline.anchors
        var outcome = SessionOutcome.from(r)
        pipeline.annotate(&outcome)
        var status: SessionStatus = r.live ? .succeeded : .failed
        var ending: SessionEnding = r.live ? (record.spec.mode == .enroll && record.spec.user != nil ? .enrolled : .verified) : .notLive(r.failure)
        if r.live, let user = record.spec.user {
            do {
                switch record.spec.mode {
                case .liveness:
                    let a = try await pipeline.authenticate(index: index)
                    outcome.verified = a.result.authorized; outcome.distance = a.result.distance; outcome.threshold = a.threshold.value
                    if !a.result.authorized {
                        outcome.passed = false; outcome.reason = "no_match"; outcome.detail = "the face does not match \(user)"; status = .failed
                        outcome.denial = a.decision.reason
                        ending = .noMatch
                    }
                case .enroll:
                    let gate = enrollmentGate
                    let collection = EnrollmentSession.collect(anchors: anchors, gate: gate, source: "session \(record.id)")
                    let e = try await EnrollmentSession.decide(collection, liveness: r, user: user, gate: gate, refuseDuplicates: false,
                                                               index: index)
                    if let refusal = e.refusal { throw FaceGateError.badInput(refusal.text) }
                    let n = try await addTemplates(user: user, templates: collection.templates, duplicates: e.duplicates)
                    outcome.enrolledTemplates = n
                    actions?.notify(.enrolled, user: user, detail: "\(n) template(s) from enrollment session \(record.id)")
                }
            } catch {
                outcome.passed = false; status = .failed
                // A failed identity step (store error, a refused enrollment sample) is not an attack on the user.
                outcome.denial = .error
                outcome.reason = record.spec.mode == .enroll ? "enroll_failed" : "verify_failed"
                outcome.detail = "\(error)"
                ending = .identityStepFailed(record.spec.mode)
                logger.warning("session identity step failed", metadata: ["session": "\(record.id)", "error": "\(error)"])
            }
        }
        // Which of a live liveness session's anchors may become templates later: the enrollment gate, applied here
        // where the measurements are (the sealed row keeps only embeddings).
        if status == .succeeded && record.spec.mode == .liveness {
            outcome.enrollableAnchors = EnrollmentSession.admissible(anchors: anchors, gate: enrollmentGate)
        }
        return SessionConclusion(status: status, outcome: outcome, ending: ending)
    }
}

extension FaceGateServer {
    /// How a streamed session ends, whatever ended it (a decided result, a protocol error, cancel, disconnect, shutdown,
    /// expiry): the row is finished once (`finishSession`; a session another path already finished is left alone),
    /// then its one typed decision (`ServerDecisions.session`) goes through the runtime's settle path
    /// (`AttemptSettlement`: the lockout counts it, the actions layer records it); the worker is released and the end
    /// logged. `LiveStream` keeps only the wire protocol and sends the answer after this.
    func finish(_ record: SessionRecord, status: SessionStatus, outcome: SessionOutcome, embeddings: Data? = nil,
                result: LivenessResult? = nil, worker: Int, started: Date, snapshotJPEG: Data?) async {
        let id = record.id
        do {
            if try await store.finishSession(id: id, status: status, outcome: outcome, embeddings: embeddings, now: Date()) {
                metrics.sessionFinished(status)
                let context = ServerDecisions.Context(session: id, apiKey: record.spec.keyID, clientIP: record.spec.source,
                                                      instance: config.instance, route: "/v1/sessions/{id}/stream")
                let decision = ServerDecisions.session(id: id, spec: record.spec, mode: record.spec.mode, status: status, outcome: outcome,
                                                       result: result, context: context, started: started, snapshotJPEG: snapshotJPEG)
                await settle(sessionTicket(id, spec: record.spec), decision)
            }
        } catch {
            logger.error("cannot record session", metadata: ["session": "\(id)", "error": "\(error)"])
        }
        pool.release(worker)
        logger.info("session finished", metadata: ["session": "\(id)", "status": "\(status.rawValue)",
                                                   "reason": "\(outcome.reason ?? "-")", "frames": "\(outcome.frames)"])
    }
}

extension SessionOutcome {
    static let empty = SessionOutcome(passed: false, live: false, reason: nil, detail: nil, challenges: [], frames: 0, verified: nil,
                                      distance: nil, threshold: nil, identityDistance: nil, evidence: [], enrolledTemplates: nil)

    static func from(_ r: LivenessResult) -> SessionOutcome {
        var o = SessionOutcome(
            passed: r.live, live: r.live, reason: r.failure?.code, detail: r.reason,
            challenges: r.challenges.map { .init(type: $0.type.rawValue, status: $0.status.rawValue, latencyMs: $0.latencyMs) },
            frames: r.frames, verified: nil, distance: nil, threshold: nil, identityDistance: r.identityDistance,
            evidence: r.evidence.map { .init(index: $0.index, timestamp: ($0.timestamp * 1000).rounded() / 1000, role: $0.role.rawValue) },
            enrolledTemplates: nil)
        o.denial = r.denialReason
        return o
    }
}
