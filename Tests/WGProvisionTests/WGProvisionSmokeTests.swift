import XCTest
@testable import WGProvision

final class WGProvisionSmokeTests: XCTestCase {
    func testModuleLoads() { XCTAssertTrue(true) }
}
