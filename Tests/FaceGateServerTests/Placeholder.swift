import Testing
@Test func placeholderFaceGateServerTests() { #expect(Bool(true)) }
