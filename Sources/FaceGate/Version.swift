/// FaceGate's version, recorded in model files and reports.
public enum FaceGateVersion {
    public static let string = "0.1.0"
}
