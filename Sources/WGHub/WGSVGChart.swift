import Foundation

/// A small inline-SVG chart renderer: one or more series as polylines (the first optionally filled as an area),
/// over a time axis, with a y axis, grid lines and labels; scales to the page width (viewBox), readable on a phone.
/// No JavaScript; every label is escaped. Gaps (nil values) break the line.
struct WGSVGChart {
    struct Series {
        var name: String
        var color: String
        var values: [Double?]
        var area = false
    }

    var title: String
    /// Unix seconds of each value, ascending, shared by all series.
    var times: [Int64]
    var from: Int64
    var to: Int64
    var series: [Series]
    /// Fixed y range (e.g. 0…100 %), else 0…max.
    var yMax: Double?
    var yLabel: (Double) -> String = { WGSVGChart.short($0) }

    static let width = 600.0, height = 180.0
    static let left = 56.0, right = 8.0, top = 22.0, bottom = 24.0

    func render() -> String {
        let w = Self.width, h = Self.height
        let pw = w - Self.left - Self.right, ph = h - Self.top - Self.bottom
        let maxV = yMax ?? max(series.flatMap { $0.values.compactMap { $0 } }.max() ?? 0, 1)
        let span = Double(max(to - from, 1))
        func x(_ t: Int64) -> Double { Self.left + pw * Double(t - from) / span }
        func y(_ v: Double) -> Double { Self.top + ph * (1 - min(max(v / maxV, 0), 1)) }
        func f(_ d: Double) -> String { String(format: "%.1f", d) }
        var s = "<svg class=\"chart\" viewBox=\"0 0 \(Int(w)) \(Int(h))\" role=\"img\" aria-label=\"\(esc(title))\" "
        s += "xmlns=\"http://www.w3.org/2000/svg\" font-family=\"system-ui,sans-serif\" font-size=\"12\">\n"
        s += "<title>\(esc(title))</title>\n"
        s += "<text x=\"\(f(Self.left))\" y=\"14\" font-weight=\"600\">\(esc(title))</text>\n"
        // Legend, right-aligned.
        var lx = w - Self.right
        for se in series.reversed() {
            lx -= Double(se.name.count) * 6.5 + 18
            s += "<rect x=\"\(f(lx))\" y=\"5\" width=\"10\" height=\"10\" fill=\"\(esc(se.color))\"/>"
            s += "<text x=\"\(f(lx + 13))\" y=\"14\" fill=\"#444\">\(esc(se.name))</text>\n"
        }
        // Y grid: 0, half, max.
        for frac in [0.0, 0.5, 1.0] {
            let yy = y(maxV * frac)
            s += "<line x1=\"\(f(Self.left))\" x2=\"\(f(w - Self.right))\" y1=\"\(f(yy))\" y2=\"\(f(yy))\" stroke=\"#ddd\"/>"
            s += "<text x=\"\(f(Self.left - 4))\" y=\"\(f(yy + 4))\" text-anchor=\"end\" fill=\"#666\">\(esc(yLabel(maxV * frac)))</text>\n"
        }
        // X axis: four ticks, labelled relative to the end (now).
        for i in 0...4 {
            let t = from + Int64(Double(to - from) * Double(i) / 4)
            let xx = x(t)
            s += "<line x1=\"\(f(xx))\" x2=\"\(f(xx))\" y1=\"\(f(Self.top))\" y2=\"\(f(h - Self.bottom))\" stroke=\"#eee\"/>"
            s += "<text x=\"\(f(xx))\" y=\"\(f(h - 6))\" text-anchor=\"\(i == 0 ? "start" : i == 4 ? "end" : "middle")\" fill=\"#666\">"
            s += "\(esc(Self.relative(to - t)))</text>\n"
        }
        s += "<line x1=\"\(f(Self.left))\" x2=\"\(f(w - Self.right))\" y1=\"\(f(h - Self.bottom))\" y2=\"\(f(h - Self.bottom))\" stroke=\"#999\"/>\n"
        for se in series {
            // Runs of consecutive values: one polyline (and area) each.
            var runs: [[(Double, Double)]] = [[]]
            for (t, v) in zip(times, se.values) {
                if let v { runs[runs.count - 1].append((x(t), y(v))) } else if !runs[runs.count - 1].isEmpty { runs.append([]) }
            }
            for run in runs where !run.isEmpty {
                let pts = run.map { "\(f($0.0)),\(f($0.1))" }.joined(separator: " ")
                if se.area {
                    let base = f(h - Self.bottom)
                    s += "<polygon points=\"\(f(run[0].0)),\(base) \(pts) \(f(run[run.count - 1].0)),\(base)\" fill=\"\(esc(se.color))\" fill-opacity=\"0.25\"/>"
                }
                if run.count == 1 {
                    s += "<circle class=\"series\" data-series=\"\(esc(se.name))\" cx=\"\(f(run[0].0))\" cy=\"\(f(run[0].1))\" r=\"2\" fill=\"\(esc(se.color))\"/>"
                } else {
                    s += "<polyline class=\"series\" data-series=\"\(esc(se.name))\" points=\"\(pts)\" fill=\"none\" stroke=\"\(esc(se.color))\" stroke-width=\"1.5\"/>"
                }
                s += "\n"
            }
        }
        if times.isEmpty {
            s += "<text x=\"\(f(Self.left + pw / 2))\" y=\"\(f(Self.top + ph / 2))\" text-anchor=\"middle\" fill=\"#888\">no data yet</text>\n"
        }
        s += "</svg>\n"
        return s
    }

    func esc(_ s: String) -> String { WGDashboard.esc(s) }

    /// "now", "6 h", "3 d" before the end.
    static func relative(_ seconds: Int64) -> String {
        if seconds <= 0 { return "now" }
        if seconds < 5400 { return "-\(seconds / 60) min" }
        if seconds < 172800 { return "-\(seconds / 3600) h" }
        return "-\(seconds / 86400) d"
    }

    static func short(_ v: Double) -> String {
        if v >= 1e9 { return String(format: "%.1fG", v / 1e9) }
        if v >= 1e6 { return String(format: "%.1fM", v / 1e6) }
        if v >= 1e3 { return String(format: "%.1fk", v / 1e3) }
        return v == v.rounded() ? "\(Int(v))" : String(format: "%.1f", v)
    }
}
