import FaceGateCore
import FaceGateStore
import Foundation

/// Why new templates may not be added to a user without an administrator's say-so (#17).
public enum EnrollmentConflict: Sendable, Hashable, Error, CustomStringConvertible {
    /// The face already belongs to other enrolled users (a person enrolling as a second identity, or someone adding
    /// their face to another account that is not yet enrolled). Nearest first.
    case belongsToOtherUsers([IdentityCandidate])
    /// The user already has templates and the new face does not match them (an attacker adding their own face to
    /// someone else's account, e.g. through that person's enrollment link). The worst template's distance.
    case notTheEnrolledUser(user: String, distance: Double, threshold: Double)

    /// Machine code (HTTP error codes, audit details).
    public var code: String {
        switch self {
        case .belongsToOtherUsers: return "face_belongs_to_other_user"
        case .notTheEnrolledUser: return "face_does_not_match_user"
        }
    }

    public var description: String {
        switch self {
        case .belongsToOtherUsers(let c):
            return "this face is already enrolled as \(c.map(\.user).joined(separator: ", ")) — one person, one identity; an administrator can force it"
        case .notTheEnrolledUser(let user, _, _):
            return "this face does not match the templates '\(user)' already has — only the same person can add templates; an administrator can force it"
        }
    }
}

/// The check every enrollment that adds a face to a stored user runs before storing it (server uploads, sessions and
/// enrollment links): the face must not already belong to another user, and when the user already has templates,
/// every new template must match them (the same rule as a session's identity anchors: each frame must match).
public enum EnrollmentGuard {
    /// - Parameters:
    ///   - hasTemplates: whether `user` already has templates (a pending/new user has none to match).
    ///   - duplicates: the duplicate check's answer when the caller already ran it (`EnrollmentSession.decide`).
    /// - Returns: nil when the templates may be added.
    public static func check(_ templates: [FaceTemplate], user: String, hasTemplates: Bool, index: IdentityIndexService,
                             duplicates: [IdentityCandidate]? = nil) async throws -> EnrollmentConflict? {
        let others: [IdentityCandidate]
        if let duplicates { others = duplicates } else { others = try await DuplicateCheck.matches(templates, excluding: user, index: index) }
        if !others.isEmpty { return .belongsToOtherUsers(others) }
        guard hasTemplates else { return nil }
        var worst: VerifyResult?
        for t in templates {
            let v = try await index.verify(user: user, probe: t.embedding)
            if worst == nil || v.distance > worst!.distance { worst = v }
        }
        if let w = worst, !w.match { return .notTheEnrolledUser(user: user, distance: w.distance, threshold: w.threshold) }
        return nil
    }
}
