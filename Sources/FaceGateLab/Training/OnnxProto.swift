import FaceGate
import Foundation

/// A minimal protocol-buffers encoder (proto2 wire format) — just what ONNX files need: varints, 32-bit floats,
/// length-delimited bytes/strings and nested messages. Repeated scalars are written unpacked (proto2's default, which
/// every parser reads). No dependency beyond Foundation.
public struct ProtoWriter {
    public private(set) var data = Data()
    public init() {}

    public enum Wire: UInt64, Sendable { case varint = 0, fixed64 = 1, bytes = 2, fixed32 = 5 }

    public mutating func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 { data.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        data.append(UInt8(v))
    }
    mutating func key(_ field: Int, _ wire: Wire) { varint(UInt64(field) << 3 | wire.rawValue) }

    /// int32/int64/enum field (negative values as 10-byte two's complement, as protobuf does).
    public mutating func int(_ field: Int, _ v: Int) { key(field, .varint); varint(UInt64(bitPattern: Int64(v))) }
    public mutating func float(_ field: Int, _ v: Float) {
        key(field, .fixed32)
        withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) }
    }
    public mutating func bytes(_ field: Int, _ d: Data) { key(field, .bytes); varint(UInt64(d.count)); data.append(d) }
    public mutating func string(_ field: Int, _ s: String) { bytes(field, Data(s.utf8)) }
    public mutating func message(_ field: Int, _ body: (inout ProtoWriter) -> Void) {
        var w = ProtoWriter()
        body(&w)
        bytes(field, w.data)
    }
}

/// A minimal protocol-buffers reader: splits a message into its fields (for tests and for checking a file we wrote).
public struct ProtoField: Sendable, Equatable {
    public var number: Int
    public var wire: ProtoWriter.Wire
    /// varint value, or the raw bits of a fixed32/fixed64.
    public var value: UInt64
    /// Payload of a length-delimited field.
    public var bytes: Data
    public var string: String { String(decoding: bytes, as: UTF8.self) }
    public var float: Float { Float(bitPattern: UInt32(truncatingIfNeeded: value)) }
    public var int: Int { Int(Int64(bitPattern: value)) }
}

public enum ProtoReader {
    public struct Malformed: Error, CustomStringConvertible {
        public var description: String
    }

    public static func fields(_ d: Data) throws -> [ProtoField] {
        let b = [UInt8](d)
        var i = 0, out: [ProtoField] = []
        func varint() throws -> UInt64 {
            var v: UInt64 = 0, shift: UInt64 = 0
            while true {
                guard i < b.count, shift < 64 else { throw Malformed(description: "truncated varint at byte \(i)") }
                let c = b[i]; i += 1
                v |= UInt64(c & 0x7F) << shift
                if c & 0x80 == 0 { return v }
                shift += 7
            }
        }
        while i < b.count {
            let k = try varint()
            let number = Int(k >> 3)
            guard number > 0, let wire = ProtoWriter.Wire(rawValue: k & 7) else {
                throw Malformed(description: "bad field key \(k) at byte \(i)")
            }
            switch wire {
            case .varint: out.append(ProtoField(number: number, wire: wire, value: try varint(), bytes: Data()))
            case .fixed32, .fixed64:
                let n = wire == .fixed32 ? 4 : 8
                guard i + n <= b.count else { throw Malformed(description: "truncated fixed field at byte \(i)") }
                var v: UInt64 = 0
                for j in 0..<n { v |= UInt64(b[i + j]) << (8 * UInt64(j)) }
                i += n
                out.append(ProtoField(number: number, wire: wire, value: v, bytes: Data()))
            case .bytes:
                let n = Int(try varint())
                guard n >= 0, i + n <= b.count else { throw Malformed(description: "length \(n) runs past the end at byte \(i)") }
                out.append(ProtoField(number: number, wire: wire, value: UInt64(n), bytes: Data(b[i..<(i + n)])))
                i += n
            }
        }
        return out
    }
}

/// The ONNX messages FaceGate writes (onnx/onnx.proto, IR version 6 / opset 11: read by OpenCV 4.6's importer and by
/// current ONNX Runtime). Field numbers are onnx.proto's.
public enum Onnx {
    public enum DataType: Int, Sendable { case float = 1, uint8 = 2, int8 = 3, int32 = 6, int64 = 7, float16 = 10 }

    public struct Tensor: Sendable {
        public var name: String
        public var dims: [Int]
        public var dataType: DataType
        /// Little-endian element bytes (TensorProto.raw_data).
        public var raw: Data

        public init(name: String, dims: [Int], dataType: DataType, raw: Data) {
            self.name = name; self.dims = dims; self.dataType = dataType; self.raw = raw
        }
        public init(name: String, dims: [Int], floats: [Float]) {
            var d = Data(capacity: floats.count * 4)
            for f in floats { withUnsafeBytes(of: f.bitPattern.littleEndian) { d.append(contentsOf: $0) } }
            self.init(name: name, dims: dims, dataType: .float, raw: d)
        }

        public func encode(_ w: inout ProtoWriter) {
            for d in dims { w.int(1, d) }           // dims
            w.int(2, dataType.rawValue)              // data_type
            w.string(8, name)                        // name
            w.bytes(9, raw)                          // raw_data
        }
    }

    public enum AttributeValue: Sendable {
        case int(Int), ints([Int]), float(Float), string(String)
    }

    public struct Node: Sendable {
        public var op: String
        public var inputs: [String]
        public var outputs: [String]
        public var name: String
        public var attributes: [(String, AttributeValue)]
        public init(_ op: String, _ inputs: [String], _ outputs: [String], name: String, _ attributes: [(String, AttributeValue)] = []) {
            self.op = op; self.inputs = inputs; self.outputs = outputs; self.name = name; self.attributes = attributes
        }

        public func encode(_ w: inout ProtoWriter) {
            for i in inputs { w.string(1, i) }
            for o in outputs { w.string(2, o) }
            w.string(3, name)
            w.string(4, op)
            for (n, v) in attributes {
                w.message(5) { a in
                    a.string(1, n)
                    switch v {                       // AttributeProto: f=2 i=3 s=4 ints=8; type=20
                    case .float(let f): a.float(2, f); a.int(20, 1)
                    case .int(let i): a.int(3, i); a.int(20, 2)
                    case .string(let s): a.string(4, s); a.int(20, 3)
                    case .ints(let l): for i in l { a.int(8, i) }; a.int(20, 7)
                    }
                }
            }
        }
    }

    public enum Dim: Sendable { case value(Int), param(String) }

    public struct ValueInfo: Sendable {
        public var name: String
        public var elementType: DataType
        public var shape: [Dim]
        public init(name: String, elementType: DataType, shape: [Dim]) {
            self.name = name; self.elementType = elementType; self.shape = shape
        }
        public func encode(_ w: inout ProtoWriter) {
            w.string(1, name)
            w.message(2) { t in                      // TypeProto
                t.message(1) { tt in                 // TypeProto.Tensor
                    tt.int(1, elementType.rawValue)
                    tt.message(2) { s in             // TensorShapeProto
                        for d in shape {
                            s.message(1) { dm in
                                switch d {
                                case .value(let v): dm.int(1, v)
                                case .param(let p): dm.string(2, p)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    public struct Graph: Sendable {
        public var name: String
        public var nodes: [Node] = []
        public var initializers: [Tensor] = []
        public var inputs: [ValueInfo] = []
        public var outputs: [ValueInfo] = []
        public var doc = ""
        public init(name: String) { self.name = name }

        public func encode(_ w: inout ProtoWriter) {
            for n in nodes { w.message(1) { n.encode(&$0) } }
            w.string(2, name)
            for t in initializers { w.message(5) { t.encode(&$0) } }
            if !doc.isEmpty { w.string(10, doc) }
            for i in inputs { w.message(11) { i.encode(&$0) } }
            for o in outputs { w.message(12) { o.encode(&$0) } }
        }
    }

    public struct Model: Sendable {
        /// IR version 6 = ONNX 1.7, the one that goes with opset 11.
        public var irVersion = 6
        public var opset = 11
        public var producerName = "FaceGate"
        public var producerVersion = ""
        public var doc = ""
        public var metadata: [(String, String)] = []
        public var graph: Graph
        public init(graph: Graph) { self.graph = graph }

        public func encoded() -> Data {
            var w = ProtoWriter()
            w.int(1, irVersion)
            w.string(2, producerName)
            if !producerVersion.isEmpty { w.string(3, producerVersion) }
            if !doc.isEmpty { w.string(6, doc) }
            w.message(7) { graph.encode(&$0) }
            w.message(8) { o in o.string(1, ""); o.int(2, opset) }
            for (k, v) in metadata { w.message(14) { e in e.string(1, k); e.string(2, v) } }
            return w.data
        }
    }
}
