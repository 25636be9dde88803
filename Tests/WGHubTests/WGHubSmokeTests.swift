import XCTest
@testable import WGHub

final class WGHubSmokeTests: XCTestCase {
    func testModuleLoads() { XCTAssertTrue(true) }
}
