/// Network interface names as the kernel takes them, and as wgagent puts them into wg-quick's `PostUp` lines
/// (which wg-quick runs through bash's `eval`): a name found on the machine is checked before it is rendered.
public enum WGInterfaceName {
    /// IFNAMSIZ: 16 bytes with the terminating NUL.
    public static let maxBytes = 15

    /// Why the kernel would refuse `name` (net/core/dev.c `dev_valid_name`), nil when it is valid:
    /// 1–15 bytes, not "." or "..", no '/', ':', NUL or whitespace.
    public static func kernelProblem(_ name: String) -> String? {
        let bytes = Array(name.utf8)
        if bytes.isEmpty { return "it is empty" }
        if bytes.count > maxBytes { return "it is \(bytes.count) bytes long; the kernel allows at most \(maxBytes)" }
        if name == "." || name == ".." { return "\"\(name)\" is not allowed by the kernel" }
        // The kernel's isspace() also counts 0xA0 (Latin-1 no-break space) as a space.
        let space: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0xA0]
        if let bad = bytes.first(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: ":") || $0 == 0 || space.contains($0) }) {
            return "it contains \(describe(bad)), which the kernel does not allow in interface names"
        }
        return nil
    }

    /// Why `name` cannot go into a shell line such as `PostUp`, nil when it can: a valid kernel name made only of
    /// a-z A-Z 0-9 _ = + . - @ (the kernel allows `$`, `;`, `(` … which a shell would run).
    public static func problem(_ name: String) -> String? {
        if let k = kernelProblem(name) { return k }
        if let bad = name.unicodeScalars.first(where: { !($0.isASCII && (isAlnum($0) || "_=+.-@".unicodeScalars.contains($0))) }) {
            return "it contains \(describe(bad)); wgagent renders only a-z A-Z 0-9 _ = + . - @ into shell lines"
        }
        return nil
    }

    public static func isValid(_ name: String) -> Bool { problem(name) == nil }

    private static func isAlnum(_ s: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(s) || ("A"..."Z").contains(s) || ("0"..."9").contains(s)
    }

    private static func describe(_ b: UInt8) -> String {
        switch b {
        case 0x20: return "a space"
        case 0x09: return "a tab"
        case 0x0A, 0x0D: return "a line break"
        case 0x00: return "a NUL byte"
        case 0xA0: return "a no-break space (byte 0xA0)"
        case 0x21...0x7E: return "'\(Character(Unicode.Scalar(b)))'"
        default: return "byte 0x\(String(b, radix: 16, uppercase: true))"
        }
    }

    private static func describe(_ s: Unicode.Scalar) -> String {
        s.isASCII ? describe(UInt8(s.value)) : "U+\(String(s.value, radix: 16, uppercase: true))"
    }
}
