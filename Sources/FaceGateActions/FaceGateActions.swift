// FaceGateActions
