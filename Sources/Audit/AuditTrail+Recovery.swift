import Cryptography
import JSON
import Platform

extension AuditTrail {
    /// What opening a trail finds: where the chain continues and which file (if any) is still
    /// being written. Reads only the ends of files: the whole trail is the verifier's job.
    struct Recovery {
        let directory: String
        let storage: any AuditStorage

        struct Result {
            var active: Active?
            var nextFileNumber: Int
            var nextSequence: UInt64
            var lastHash: [UInt8]
            var notices: [String]
        }

        /// Reading backwards for a line end goes in steps of this size.
        static let scanChunkBytes = 64 * 1024
        /// A record line written by the trail is at most this long, with its newline.
        static let maximumLineBytes = AuditFormat.maximumRecordBytes + 1

        func run() throws(AuditError) -> Result {
            var names: [String]
            do {
                names = try storage.listDirectory(directory)
            } catch {
                throw AuditError.from(error, path: directory, "cannot list the audit directory")
            }
            var notices: [String] = []
            // A signature whose write was interrupted: the file it was for is still unsealed.
            let stale = names.filter { $0.hasPrefix(AuditFormat.filePrefix) && $0.hasSuffix(".tmp") }
            for name in stale {
                do {
                    try storage.remove(directory + "/" + name)
                } catch {
                    throw AuditError.from(error, path: directory + "/" + name, "cannot remove an interrupted signature")
                }
                notices.append("\(directory)/\(name): removed an interrupted signature write")
            }
            names.removeAll { stale.contains($0) }

            let numbers = names.compactMap(AuditFormat.fileNumber).sorted()
            // Signatures and torn files count too, so that a new file never takes the name of a
            // removed one whose signature is still there.
            let highest = names.compactMap { name -> Int? in
                guard let range = name.firstRange(of: AuditFormat.fileSuffix) else { return nil }
                return AuditFormat.fileNumber(String(name[..<range.upperBound]))
            }.max() ?? 0
            guard let newest = numbers.last else {
                if highest > 0 {
                    notices.append("\(directory): no audit files, but signatures or torn tails of earlier ones; the chain starts again at sequence 1")
                }
                return Result(active: nil, nextFileNumber: highest + 1, nextSequence: 1, lastHash: AuditFormat.zeroHash, notices: notices)
            }
            let nextFileNumber = max(newest, highest) + 1
            let newestName = AuditFormat.fileName(newest)
            let newestPath = directory + "/" + newestName

            if names.contains(newestName + AuditFormat.signatureSuffix) {
                // A clean stop: the next record starts a new file, chained to this one's last.
                let (file, size) = try open(newestPath)
                guard size > 0, let last = try lastRecord(file, path: newestPath, end: size) else {
                    throw AuditError(.corrupt, path: newestPath, "\(newestPath): a sealed audit file without records")
                }
                return Result(active: nil, nextFileNumber: nextFileNumber, nextSequence: last.chain.sequence + 1,
                              lastHash: last.hash, notices: notices)
            }

            // The newest file was being written: cut a torn tail and continue it.
            let (file, size) = try open(newestPath)
            let end = try cutTornTail(file, name: newestName, size: size, names: names, notices: &notices)
            if end > 0, let last = try lastRecord(file, path: newestPath, end: end) {
                let first = try firstRecord(file, path: newestPath, end: end)
                let active = Active(number: newest, name: newestName, path: newestPath, file: file, end: end, allocatedEnd: end,
                                    firstSequence: first.sequence, directorySynced: true, running: nil)
                return Result(active: active, nextFileNumber: nextFileNumber, nextSequence: last.chain.sequence + 1,
                              lastHash: last.hash, notices: notices)
            }
            // Empty: chained to the newest earlier file that has records.
            let active = Active(number: newest, name: newestName, path: newestPath, file: file, end: 0, allocatedEnd: 0,
                                firstSequence: nil, directorySynced: true, running: (SHA256.Hasher(), 0))
            for number in numbers.dropLast().reversed() {
                let path = directory + "/" + AuditFormat.fileName(number)
                let (earlier, earlierSize) = try open(path)
                if earlierSize > 0, let last = try lastRecord(earlier, path: path, end: earlierSize) {
                    return Result(active: active, nextFileNumber: nextFileNumber, nextSequence: last.chain.sequence + 1,
                                  lastHash: last.hash, notices: notices)
                }
            }
            return Result(active: active, nextFileNumber: nextFileNumber, nextSequence: 1, lastHash: AuditFormat.zeroHash, notices: notices)
        }

        private func open(_ path: String) throws(AuditError) -> (any AuditFile, Int) {
            do {
                let file = try storage.openFile(path, create: false)
                return (file, try file.size())
            } catch {
                throw AuditError.from(error, path: path, "cannot open the audit file")
            }
        }

        private func read(_ file: any AuditFile, path: String, at offset: Int, count: Int) throws(AuditError) -> [UInt8] {
            let bytes: [UInt8]
            do {
                bytes = try file.readBytes(at: offset, count: count)
            } catch {
                throw AuditError.from(error, path: path, "cannot read the audit file")
            }
            guard bytes.count == count else {
                throw AuditError(.io, path: path, "\(path): the file shrank while it was read")
            }
            return bytes
        }

        /// The offset of the last newline before `limit`, or nil when there is none.
        private func lastNewline(_ file: any AuditFile, path: String, before limit: Int) throws(AuditError) -> Int? {
            var upper = limit
            while upper > 0 {
                let lower = max(0, upper - Self.scanChunkBytes)
                let chunk = try read(file, path: path, at: lower, count: upper - lower)
                if let index = chunk.lastIndex(of: 0x0A) { return lower + index }
                upper = lower
            }
            return nil
        }

        /// Cuts everything after the last complete line (and NUL-only lines before it, which a
        /// crash can leave where blocks were allocated but not written), keeping the cut bytes in
        /// a `.torn` file first. Returns the new end.
        private func cutTornTail(_ file: any AuditFile, name: String, size: Int, names: [String],
                                 notices: inout [String]) throws(AuditError) -> Int {
            let path = directory + "/" + name
            guard size > 0 else { return 0 }
            var cut = size
            if try read(file, path: path, at: size - 1, count: 1) != [0x0A] {
                cut = try lastNewline(file, path: path, before: size).map { $0 + 1 } ?? 0
            }
            while cut > 0 {
                let start = try lastNewline(file, path: path, before: cut - 1).map { $0 + 1 } ?? 0
                let line = try read(file, path: path, at: start, count: cut - 1 - start)
                guard !line.isEmpty, line.allSatisfy({ $0 == 0 }) else { break }
                cut = start
            }
            guard cut < size else { return size }

            let torn = try read(file, path: path, at: cut, count: size - cut)
            var tornName = name + AuditFormat.tornSuffix
            var copy = 1
            while names.contains(tornName) {
                copy += 1
                tornName = name + AuditFormat.tornSuffix + ".\(copy)"
            }
            let tornPath = directory + "/" + tornName
            do {
                try storage.writeAtomically(torn, to: tornPath)
            } catch {
                throw AuditError.from(error, path: tornPath, "cannot keep the torn tail of \(name)")
            }
            do {
                try file.truncate(to: cut)
                try file.synchronize()
            } catch {
                throw AuditError.from(error, path: path, "cannot cut the torn tail")
            }
            notices.append("\(path): cut a torn tail of \(size - cut) bytes after byte \(cut) (a write interrupted by a crash); the bytes are kept in \(tornName)")
            return cut
        }

        /// The chain and hash of the last line of `[0, end)`, which ends with a newline; nil
        /// when `end` is 0.
        private func lastRecord(_ file: any AuditFile, path: String, end: Int) throws(AuditError) -> (chain: AuditFormat.Chain, hash: [UInt8])? {
            guard end > 0 else { return nil }
            let window = min(end, Self.maximumLineBytes + 1)
            let tail = try read(file, path: path, at: end - window, count: window)
            guard tail.last == 0x0A else {
                throw AuditError(.corrupt, path: path, "\(path): the last line has no line end (a sealed file was edited?); run strongroom audit verify")
            }
            let body = tail.dropLast()
            let line: ArraySlice<UInt8>
            if let newline = body.lastIndex(of: 0x0A) {
                line = body[(newline + 1)...]
            } else if window == end {
                line = body
            } else {
                throw AuditError(.corrupt, path: path, "\(path): the last line is longer than an audit record can be; run strongroom audit verify")
            }
            guard let record = try? JSONValue.parse(Array(line)), let chain = AuditFormat.chain(of: record) else {
                throw AuditError(.corrupt, path: path, "\(path): the last line is not an audit record; run strongroom audit verify and move the file aside")
            }
            return (chain, AuditFormat.hash(line))
        }

        /// The chain of the first line of `[0, end)`.
        private func firstRecord(_ file: any AuditFile, path: String, end: Int) throws(AuditError) -> AuditFormat.Chain {
            let head = try read(file, path: path, at: 0, count: min(end, Self.maximumLineBytes))
            guard let newline = head.firstIndex(of: 0x0A), let record = try? JSONValue.parse(Array(head[..<newline])),
                  let chain = AuditFormat.chain(of: record) else {
                throw AuditError(.corrupt, path: path, "\(path): the first line is not an audit record; run strongroom audit verify and move the file aside")
            }
            return chain
        }
    }
}
