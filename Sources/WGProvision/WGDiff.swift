/// Unified diffs of small text files (configs), for plans and dry runs.
public enum WGDiff {
    /// `diff -u` style output; empty when the texts are equal.
    public static func unified(old: String?, new: String, path: String, context: Int = 3) -> String {
        let a = old.map(lines) ?? []
        let b = lines(new)
        if a == b && old != nil { return "" }
        // LCS table: config files are small, so O(n·m) is fine and simple.
        let n = a.count, m = b.count
        var lcs = [[Int]](repeating: [Int](repeating: 0, count: m + 1), count: n + 1)
        for i in stride(from: n - 1, through: 0, by: -1) {
            for j in stride(from: m - 1, through: 0, by: -1) {
                lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
            }
        }
        enum Op { case same(String), del(String), add(String) }
        var ops: [Op] = []
        var i = 0, j = 0
        while i < n || j < m {
            if i < n && j < m && a[i] == b[j] { ops.append(.same(a[i])); i += 1; j += 1 }
            // Deletions before additions, as diff -u prints them.
            else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) { ops.append(.del(a[i])); i += 1 }
            else { ops.append(.add(b[j])); j += 1 }
        }
        var out = "--- \(old == nil ? "/dev/null" : path)\n+++ \(path)\n"
        // Group changes into hunks with `context` lines around them.
        let changed = ops.indices.filter { if case .same = ops[$0] { return false }; return true }
        var k = 0
        while k < changed.count {
            var start = max(0, changed[k] - context)
            var end = min(ops.count - 1, changed[k] + context)
            while k + 1 < changed.count && changed[k + 1] - context <= end + 1 {
                k += 1
                end = min(ops.count - 1, changed[k] + context)
            }
            start = max(0, start)
            var oldStart = 1, newStart = 1
            for op in ops[..<start] {
                switch op { case .same: oldStart += 1; newStart += 1; case .del: oldStart += 1; case .add: newStart += 1 }
            }
            var oldCount = 0, newCount = 0, body = ""
            for op in ops[start...end] {
                switch op {
                case .same(let s): oldCount += 1; newCount += 1; body += " \(s)\n"
                case .del(let s): oldCount += 1; body += "-\(s)\n"
                case .add(let s): newCount += 1; body += "+\(s)\n"
                }
            }
            out += "@@ -\(oldCount == 0 ? oldStart - 1 : oldStart),\(oldCount) +\(newCount == 0 ? newStart - 1 : newStart),\(newCount) @@\n" + body
            k += 1
        }
        return out
    }

    static func lines(_ s: String) -> [String] {
        var l = s.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if l.last == "" { l.removeLast() }
        return l
    }
}
