// FaceGateStore
