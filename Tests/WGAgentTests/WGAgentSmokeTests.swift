import XCTest
@testable import WGAgent

final class WGAgentSmokeTests: XCTestCase {
    func testModuleLoads() { XCTAssertTrue(true) }
}
