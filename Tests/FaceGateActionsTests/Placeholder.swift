import Testing
@Test func placeholderFaceGateActionsTests() { #expect(Bool(true)) }
