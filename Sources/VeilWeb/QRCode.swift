import CVeilQR

/// A QR code drawn as inline SVG (no image request, nothing for the CSP to allow).
enum QRCode {
    /// The modules of `text`'s code, row by row (true = dark), or nil when it cannot be encoded.
    static func modules(_ text: String) -> (width: Int, dark: [Bool])? {
        // Version 40 is 177 × 177 modules: the largest a QR code gets.
        var buffer = [UInt8](repeating: 0, count: 177 * 177)
        var width: Int32 = 0
        let status = buffer.withUnsafeMutableBufferPointer { out in
            veil_qr_encode(text, out.baseAddress, Int32(out.count), &width)
        }
        guard status == 0, width > 0 else { return nil }
        let count = Int(width) * Int(width)
        return (Int(width), buffer[0..<count].map { $0 == 1 })
    }

    /// Dark modules on a light square with the four-module quiet zone scanners need.
    static func svg(_ text: String, label: String) -> String? {
        guard let (width, dark) = modules(text) else { return nil }
        let side = width + 8
        var path = ""
        path.reserveCapacity(dark.count * 4)
        for row in 0..<width {
            for column in 0..<width where dark[row * width + column] {
                path += "M\(column + 4) \(row + 4)h1v1h-1z"
            }
        }
        return """
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(side) \(side)" width="220" height="220" role="img" \
            aria-label="\(label)" shape-rendering="crispEdges"><rect width="\(side)" height="\(side)" fill="#fff"/>\
            <path d="\(path)" fill="#000"/></svg>
            """
    }
}
