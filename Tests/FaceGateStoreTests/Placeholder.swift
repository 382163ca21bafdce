import Testing
@Test func placeholderFaceGateStoreTests() { #expect(Bool(true)) }
