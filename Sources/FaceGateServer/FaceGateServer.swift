// FaceGateServer
