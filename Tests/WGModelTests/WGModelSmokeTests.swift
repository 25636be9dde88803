import XCTest
@testable import WGModel

final class WGModelSmokeTests: XCTestCase {
    func testModuleLoads() { XCTAssertTrue(true) }
}
