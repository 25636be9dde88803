// swift-tools-version: 6.1
import PackageDescription

let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")

let package = Package(
    name: "wgagent",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "wgagent", targets: ["wgagent"]),
        .executable(name: "wghub", targets: ["wghub"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // Tests only: an independent YAML reader to check the cloud-init user-data the hub prints.
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // wghub: self-signed certificate on first start, SPKI pin.
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // wghub: per-connection deadlines see HTTP parts (NIOHTTPTypes); bounded shutdown (ServiceGroup).
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // The one command runner (WGProcess) of agent, hub and tests.
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        // wghub: the agent it hands out, gzip-compressed once at start (zlib), for sites on slow links.
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
    ],
    targets: [
        // System libraries: libsodium (Curve25519 keys) and libcurl (the agent's HTTPS client).
        // libsodium is linked statically (below): a fresh VM has no libsodium, and the agent must run there as it is.
        .systemLibrary(name: "CSodium", providers: [.apt(["libsodium-dev"])]),
        // libcurl's headers only: CCurlLazy defines the functions the agent calls and opens libcurl.so.4 on the
        // first one, so commands that never talk to the hub (apply, status) do not load its ~30 libraries.
        .systemLibrary(name: "CCurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .target(name: "CCurlLazy", linkerSettings: [.linkedLibrary("dl")]),
        // libyaml (profiles, --vars files), static like libsodium. Not Yams: it imports full Foundation, whose
        // ICU data (34 MB) would be most of the agent binary.
        .systemLibrary(name: "CYAML", providers: [.apt(["libyaml-dev"])]),

        // WGCommand: argv, input, environment, timeout, and the one way to run it (swift-subprocess; FoundationEssentials).
        .target(name: "WGProcess", dependencies: [.product(name: "Subprocess", package: "swift-subprocess")]),
        // Keys, addresses, wg-quick configs, `wg show dump`, the agent <-> hub messages.
        .target(
            name: "WGModel",
            dependencies: ["CSodium"],
            linkerSettings: [.unsafeFlags(["-Xlinker", "-l:libsodium.a"])]
        ),
        // Host seam, facts, platforms, resources, plan/apply, profiles, embedded templates.
        // The agent's modules use FoundationEssentials only (no ICU); templates have their own small renderer.
        .target(
            name: "WGProvision",
            dependencies: ["WGModel", "WGProcess", "CSodium", "CYAML"],
            linkerSettings: [.unsafeFlags(["-Xlinker", "-l:libyaml.a"])],
            plugins: ["WGEmbedPlugin"]
        ),
        // Tests only (like HummingbirdTesting): the fake host, failing closed, and fake machines of each kind.
        .target(name: "WGProvisionTesting", dependencies: ["WGProvision", "WGModel"]),
        // HTTPS client (libcurl), enrollment, reporting, doctor.
        .target(name: "WGAgent", dependencies: ["WGModel", "WGProvision", "CSodium", "CCurl", "CCurlLazy"]),
        // The coordinator.
        .target(
            name: "WGHub",
            dependencies: [
                "WGModel", "WGProcess",
                // The template renderer and Templates/ (the agent bootstrap script and cloud-init user-data).
                "WGProvision",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CompressNIO", package: "compress-nio"),
            ]
        ),

        // The commands (parse, then call the flows in WGAgent / WGHub), in libraries so that tests run them.
        .target(name: "WGAgentCLI", dependencies: ["WGAgent", "WGProvision", "WGModel", argumentParser]),
        .target(
            name: "WGHubCLI",
            dependencies: ["WGHub", "WGModel", "WGProvision", argumentParser, .product(name: "Logging", package: "swift-log")]
        ),
        // Each executable is a main that calls its root command.
        .executableTarget(name: "wgagent", dependencies: ["WGAgentCLI"]),
        .executableTarget(name: "wghub", dependencies: ["WGHubCLI"]),

        // Build-time embedding of Templates/ and Profiles/ into WGProvision.
        .executableTarget(name: "WGEmbedTool"),
        .plugin(name: "WGEmbedPlugin", capability: .buildTool(), dependencies: ["WGEmbedTool"]),

        .testTarget(name: "WGModelTests", dependencies: ["WGModel", "WGProcess"]),
        .testTarget(name: "WGProcessTests", dependencies: ["WGProcess"]),
        .testTarget(name: "WGProvisionTests", dependencies: ["WGProvision", "WGProvisionTesting", "WGModel", .product(name: "Yams", package: "Yams")]),
        .testTarget(
            name: "WGAgentTests",
            dependencies: [
                "WGAgent", "WGModel", "WGProvision", "WGProvisionTesting", "WGHub",
                .product(name: "Hummingbird", package: "hummingbird"),
                // The hostile hub of the enroll tests: any answer, over real TLS.
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // The CLIs through their root commands: a fake machine, a real in-process hub over TLS.
        .testTarget(
            name: "WGCLITests",
            dependencies: [
                "WGAgentCLI", "WGHubCLI", "WGAgent", "WGHub", "WGModel", "WGProvision", "WGProvisionTesting", argumentParser,
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "WGHubTests",
            dependencies: [
                "WGHub", "WGAgent", "WGModel", "WGProcess",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                // The user-data `token create --cloud-init` prints, read by an independent YAML parser.
                .product(name: "Yams", package: "Yams"),
                .product(name: "NIOCore", package: "swift-nio"),
                // The alert tests' webhook receiver checks signatures with its own HMAC.
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
    ]
)
