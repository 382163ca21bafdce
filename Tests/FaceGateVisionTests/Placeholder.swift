import Testing
@Test func placeholderV() { #expect(1 == 1) }
