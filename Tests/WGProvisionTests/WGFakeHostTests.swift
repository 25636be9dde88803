import Foundation
import WGModel
@testable import WGProvision
import WGProvisionTesting
import XCTest

/// The fake host fails closed, and each fake machine answers everything a plan asks on it.
final class WGFakeHostTests: XCTestCase {
    func testAnUnansweredCommandThrowsAndIsListed() {
        let host = WGFakeHost()
        XCTAssertThrowsError(try host.run(["systemctl", "is-active", "--quiet", "wg-quick@wg0"])) { error in
            XCTAssertEqual(error as? WGFakeHostError, .unanswered(argv: ["systemctl", "is-active", "--quiet", "wg-quick@wg0"]))
            XCTAssertTrue("\(error)".contains("host.respond(to:"), "\(error)")
        }
        XCTAssertEqual(host.unanswered, [["systemctl", "is-active", "--quiet", "wg-quick@wg0"]])
        host.respond(to: ["systemctl"], with: WGCommandResult(status: 3))
        XCTAssertEqual(try host.run(["systemctl", "is-active", "--quiet", "wg-quick@wg0"]).status, 3)
    }

    func testEachMachinePlansWithEveryQuestionAnswered() throws {
        for (kind, host, initName, tool) in [("debian", WGFakeMachine.debian(), "systemd", "apt-get"),
                                             ("debian-openrc", WGFakeMachine.debianOpenRC(), "openrc", "apt-get"),
                                             ("alpine", WGFakeMachine.alpine(), "openrc", "apk")] {
            let ctx = try WGFakeMachines.context(host)
            XCTAssertEqual(ctx.facts.initSystem.name, initName, kind)
            let report = WGFakeMachines.plan(ctx)
            XCTAssertEqual(host.unanswered, [], "\(kind): a plan asks only what the machine answers")
            XCTAssertTrue(report.allArgv.contains { $0.first == tool }, "\(kind): installs with \(tool)")
            XCTAssertTrue(report.allArgv.contains(ctx.facts.initSystem.enableArgv(ctx.facts.initSystem.wireguardService("wg0"))), kind)
        }
    }
}

/// Kernel WireGuard first: wireguard-go only where the running kernel has no module.
final class WGKernelWireGuardTests: XCTestCase {
    func testAModuleFileForTheRunningKernelMeansNoWireguardGo() throws {
        let vm = WGFakeMachine.debian()
        vm.addFile("/proc/sys/kernel/osrelease", "6.1.0-28-amd64\n")
        vm.addFile("/lib/modules/6.1.0-28-amd64/kernel/drivers/net/wireguard/wireguard.ko", "")
        let ctx = try WGFakeMachines.context(vm)
        XCTAssertTrue(ctx.facts.kernelWireGuard)
        let install = WGFakeMachines.plan(ctx).allArgv.first { $0.first == "apt-get" } ?? []
        XCTAssertTrue(install.contains("wireguard-tools"), "\(install)")
        XCTAssertFalse(install.contains("wireguard-go"), "the kernel's WireGuard is used: \(install)")

        let container = WGFakeMachine.debian()
        container.addFile("/proc/sys/kernel/osrelease", "6.1.0-28-amd64\n")   // the host's kernel, no modules inside
        let c2 = try WGFakeMachines.context(container)
        XCTAssertFalse(c2.facts.kernelWireGuard)
        XCTAssertTrue((WGFakeMachines.plan(c2).allArgv.first { $0.first == "apt-get" } ?? []).contains("wireguard-go"))
    }
}
