// FaceGateVision
