import Foundation

/// Finds the one-time code in an SMS: a run of 4 to 8 digits (a single space or dash inside, as in
/// "123 456" or "G-123456", is allowed), preferring the one that follows a word such as "code",
/// "OTP" or "PIN"; runs that are part of a longer number (a phone number, an amount) are not codes.
public enum OTPExtractor {
    static let keywords = ["code", "otp", "pin", "passcode", "password", "verification", "token", "код", "código", "code:"]

    public static func code(in text: String) -> String? {
        let candidates = digitRuns(in: text)
        guard !candidates.isEmpty else { return nil }
        let lowered = text.lowercased()
        // The candidate closest after a keyword wins; otherwise the first one.
        var best: (distance: Int, code: String)?
        for keyword in keywords {
            var searchStart = lowered.startIndex
            while let range = lowered.range(of: keyword, range: searchStart..<lowered.endIndex) {
                let keywordEnd = lowered.distance(from: lowered.startIndex, to: range.upperBound)
                for candidate in candidates where candidate.offset >= keywordEnd {
                    let distance = candidate.offset - keywordEnd
                    if distance <= 40, best.map({ distance < $0.distance }) ?? true { best = (distance, candidate.code) }
                    break
                }
                searchStart = range.upperBound
            }
        }
        return best?.code ?? candidates.first?.code
    }

    /// (character offset, digits) of each code-shaped run.
    static func digitRuns(in text: String) -> [(offset: Int, code: String)] {
        let characters = Array(text)
        var runs: [(Int, String)] = []
        var index = 0
        while index < characters.count {
            guard characters[index].isASCII, characters[index].isNumber else { index += 1; continue }
            let start = index
            var digits = ""
            var end = index
            while end < characters.count {
                let character = characters[end]
                if character.isASCII && character.isNumber {
                    digits.append(character)
                    end += 1
                } else if (character == " " || character == "-"), end + 1 < characters.count,
                          characters[end + 1].isASCII, characters[end + 1].isNumber, digits.count == 3 {
                    end += 1  // "123 456" and "123-456"
                } else {
                    break
                }
            }
            let before = start > 0 ? characters[start - 1] : " "
            let partOfNumber = before == "+" || before == "." || before == "," || (end < characters.count && (characters[end] == "." || characters[end] == ",")
                && end + 1 < characters.count && characters[end + 1].isNumber)
            if (4...8).contains(digits.count), !partOfNumber { runs.append((start, digits)) }
            index = end
        }
        return runs
    }
}
