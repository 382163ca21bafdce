import FaceGate
import FaceGateCore
import FaceGateVision
import Foundation

/// The LivenessNet's inference-form parameters, split into layers (see `fg_lnet_export_params`).
public struct LivenessNetParameters32: Sendable {
    public struct Conv: Sendable {
        public var filters: Int, inputs: Int
        public var weights: [Float], bias: [Float], gamma: [Float], beta: [Float]
    }
    public var inputSize: Int
    public var classes: Int
    public var mean: [Float]
    public var divisor: Float
    public var convs: [Conv]
    /// Dropout multipliers after block 1, block 2 and the dense layer.
    public var dropout: [Float]
    public var fc1Weights: [Float], fc1Bias: [Float], fc1Gamma: [Float], fc1Beta: [Float]
    public var fc2Weights: [Float], fc2Bias: [Float]
    public static let filters = [16, 16, 32, 32]
    public static let dense = 64

    public var flattened: Int { Self.filters[3] * (inputSize / 4) * (inputSize / 4) }

    public init(flat v: [Float], inputSize: Int, classes: Int) throws {
        self.inputSize = inputSize; self.classes = classes
        var i = 0
        func take(_ n: Int) throws -> [Float] {
            guard i + n <= v.count else { throw FaceGateError.runtime("LivenessNet parameters: \(v.count) values, layout needs more") }
            defer { i += n }
            return Array(v[i..<(i + n)])
        }
        mean = try take(3)
        divisor = try take(1)[0]
        var convs: [Conv] = [], drops: [Float] = []
        var k = 3
        for (j, n) in Self.filters.enumerated() {
            convs.append(Conv(filters: n, inputs: k, weights: try take(n * k * 9), bias: try take(n), gamma: try take(n), beta: try take(n)))
            k = n
            if j == 1 || j == 3 { drops.append(try take(1)[0]) }
        }
        self.convs = convs
        let flat = Self.filters[3] * (inputSize / 4) * (inputSize / 4)
        fc1Weights = try take(flat * Self.dense); fc1Bias = try take(Self.dense)
        fc1Gamma = try take(Self.dense); fc1Beta = try take(Self.dense)
        drops.append(try take(1)[0])
        dropout = drops
        fc2Weights = try take(Self.dense * classes); fc2Bias = try take(classes)
        guard i == v.count else { throw FaceGateError.runtime("LivenessNet parameters: \(v.count - i) values left over (layout mismatch)") }
    }
}

public enum ModelExporter {
    public static let opset = 11
    public static let inputName = "input"
    public static let outputName = "probabilities"

    /// The ONNX graph of a LivenessNet (inference form). The dropout multipliers are folded into the following
    /// linear layer and the dense layer's affine (folded batch-norm) into the last Gemm — exact up to float rounding;
    /// the convolution blocks keep their post-ReLU affine as Mul/Add (it cannot move through the zero padding or the
    /// max-pool). Nodes: Conv Relu Mul Add ×2, MaxPool, ×2, Flatten, Gemm, Relu, Gemm, Softmax.
    public static func onnx(_ p: LivenessNetParameters32, precision: ExportPrecision, docString: String = "",
                            metadata: [(String, String)] = []) -> Onnx.Model {
        var g = Onnx.Graph(name: "facegate_livenessnet")
        func constant(_ name: String, _ dims: [Int], _ values: [Float]) -> String {
            g.initializers.append(Onnx.Tensor(name: name, dims: dims, floats: values))
            return name
        }
        /// Weights of a layer whose output is followed by ReLU: float32, or int8 with one scale per output row.
        /// The int8 graph only casts the integers to float (`Cast`); each row's scale s > 0 moves past the ReLU
        /// (relu(s·z) = s·relu(z)) into what follows, so the caller divides the bias by s and multiplies s into the
        /// next per-channel factor. Returns the weights' name and the scales (all 1 for float32).
        func weights(_ name: String, _ dims: [Int], _ w: [Float]) -> (String, [Float]) {
            let rows = dims[0], per = w.count / rows
            guard precision == .int8 else { return (constant(name, dims, w), Array(repeating: 1, count: rows)) }
            var q = Data(count: w.count), scales = [Float](repeating: 1, count: rows)
            for r in 0..<rows {
                let row = w[(r * per)..<((r + 1) * per)]
                let m = row.map { abs($0) }.max() ?? 0
                let sc: Float = m > 0 ? m / Float(Self.int8Max) : 1
                scales[r] = sc
                for (i, v) in row.enumerated() {
                    let level = max(-Self.int8Max, min(Self.int8Max, Int((v / sc).rounded())))
                    q[r * per + i] = UInt8(bitPattern: Int8(level))
                }
            }
            g.initializers.append(Onnx.Tensor(name: name + ".int8", dims: dims, dataType: .int8, raw: q))
            g.nodes.append(Onnx.Node("Cast", [name + ".int8"], [name], name: name + ".cast", [("to", .int(Onnx.DataType.float.rawValue))]))
            return (name, scales)
        }
        var x = inputName
        var scaleIn: Float = 1  // a dropout multiplier waiting to be folded into the next linear layer
        for (j, c) in p.convs.enumerated() {
            let n = "conv\(j + 1)"
            let (w, s) = weights(n + ".weight", [c.filters, c.inputs, 3, 3], c.weights.map { $0 * scaleIn })
            let b = constant(n + ".bias", [c.filters], zip(c.bias, s).map { $0 / $1 })
            scaleIn = 1
            g.nodes.append(Onnx.Node("Conv", [x, w, b], [n], name: n,
                                     [("kernel_shape", .ints([3, 3])), ("pads", .ints([1, 1, 1, 1])), ("strides", .ints([1, 1]))]))
            g.nodes.append(Onnx.Node("Relu", [n], [n + ".relu"], name: n + ".relu"))
            let gm = constant(n + ".affine.gamma", [1, c.filters, 1, 1], zip(c.gamma, s).map { $0 * $1 })
            let bt = constant(n + ".affine.beta", [1, c.filters, 1, 1], c.beta)
            g.nodes.append(Onnx.Node("Mul", [n + ".relu", gm], [n + ".scaled"], name: n + ".affine.mul"))
            g.nodes.append(Onnx.Node("Add", [n + ".scaled", bt], [n + ".affine"], name: n + ".affine.add"))
            x = n + ".affine"
            if j == 1 || j == 3 {
                let pool = "pool\(j / 2 + 1)"
                g.nodes.append(Onnx.Node("MaxPool", [x], [pool], name: pool, [("kernel_shape", .ints([2, 2])), ("strides", .ints([2, 2]))]))
                x = pool
                scaleIn = p.dropout[j / 2]
            }
        }
        g.nodes.append(Onnx.Node("Flatten", [x], ["flat"], name: "flatten", [("axis", .int(1))]))
        // Gemm weights are stored [outputs, inputs] with transB = 1 (what OpenCV 4.6's importer maps to its
        // fully-connected layer; dlib keeps [inputs, outputs]).
        func transposed(_ w: [Float], rows: Int, cols: Int) -> [Float] {
            var t = [Float](repeating: 0, count: w.count)
            for r in 0..<rows { for c in 0..<cols { t[c * rows + r] = w[r * cols + c] } }
            return t
        }
        let dense = LivenessNetParameters32.dense
        let (w1, s1) = weights("fc1.weight", [dense, p.flattened],
                               transposed(p.fc1Weights.map { $0 * scaleIn }, rows: p.flattened, cols: dense))
        let b1 = constant("fc1.bias", [dense], zip(p.fc1Bias, s1).map { $0 / $1 })
        g.nodes.append(Onnx.Node("Gemm", ["flat", w1, b1], ["fc1"], name: "fc1", [("transB", .int(1))]))
        g.nodes.append(Onnx.Node("Relu", ["fc1"], ["fc1.relu"], name: "fc1.relu"))
        // fc2(d · (γ ⊙ s1 ⊙ r + β)) = r · (d γ s1 ⊙ W2) + (b2 + d β · W2), computed in double; fc2 stays float32
        // (its 64 × classes weights are the logits' last step).
        let d = Double(p.dropout[2]), k = p.classes, h = dense
        var w2 = [Float](repeating: 0, count: h * k), b2 = p.fc2Bias.map(Double.init)
        for i in 0..<h {
            for o in 0..<k {
                let wio = Double(p.fc2Weights[i * k + o])
                w2[i * k + o] = Float(d * Double(p.fc1Gamma[i]) * Double(s1[i]) * wio)
                b2[o] += d * Double(p.fc1Beta[i]) * wio
            }
        }
        let w2n = constant("fc2.weight", [k, h], transposed(w2, rows: h, cols: k))
        let b2n = constant("fc2.bias", [k], b2.map(Float.init))
        g.nodes.append(Onnx.Node("Gemm", ["fc1.relu", w2n, b2n], ["logits"], name: "fc2", [("transB", .int(1))]))
        g.nodes.append(Onnx.Node("Softmax", ["logits"], [outputName], name: "softmax", [("axis", .int(1))]))
        g.inputs = [Onnx.ValueInfo(name: inputName, elementType: .float, shape: [.param("batch"), .value(3), .value(p.inputSize), .value(p.inputSize)])]
        g.outputs = [Onnx.ValueInfo(name: outputName, elementType: .float, shape: [.param("batch"), .value(k)])]
        g.doc = docString
        var m = Onnx.Model(graph: g)
        m.opset = opset
        m.producerVersion = FaceGateVersion.string
        m.doc = docString
        m.metadata = metadata
        return m
    }

    /// Symmetric int8 range used (−127…127: the −128 level is left out so the scale is the same both ways).
    static let int8Max = 127

    /// The sidecar of an export of `header` (before per-source metrics).
    public static func sidecar(header h: ModelHeader, parameters p: LivenessNetParameters32, precision: ExportPrecision) -> ExportSidecar {
        ExportSidecar(inputSize: [p.inputSize, p.inputSize], cropScale: nil, colorOrder: "RGB", pixelScale: 1,
                      mean: p.mean.map { Double($0) }, std: Array(repeating: Double(p.divisor), count: 3),
                      realClass: h.realIndex, output: "probabilities",
                      crop: ExportCropRecipe(chipSize: h.crop.chipSize, margin: h.crop.margin, trainedOnAlignedChips: h.crop.aligned),
                      layout: "NCHW", inputName: inputName, outputName: outputName, classes: h.classes,
                      realClassName: h.realClass, precision: precision, opset: opset, arch: h.arch.rawValue,
                      trained: h.created, exported: ModelContainer.now(), facegateVersion: FaceGateVersion.string,
                      sourceModelSHA256: h.weights.sha256, training: h.training, metrics: h.metrics,
                      metricsBySource: nil, metricsDataset: nil)
    }

    public struct Result: Sendable {
        public var onnxPath: String
        public var sidecarPath: String
        public var onnxBytes: Int
        public var sidecar: ExportSidecar
    }

    /// Reads a LivenessNet model file and writes `onnxPath` + its sidecar. Texture models are refused with the
    /// reason and what to ship instead (docs/training.md, "Deploying your model").
    public static func export(model path: String, to onnxPath: String, precision: ExportPrecision = .float32) throws -> Result {
        guard onnxPath.lowercased().hasSuffix(".onnx") else {
            throw FaceGateError.badInput("--onnx \(onnxPath) must end in .onnx (the sidecar is written beside it as .json)")
        }
        let header: ModelHeader, weights: Data
        do { (header, weights) = try ModelContainer.read(path) } catch let e as TrainingError { throw e.faceGateError }
        guard header.arch == .livenessnet else {
            throw FaceGateError.badInput("\(path) is a texture (LBP + SVM) model: its LBP features and RBF kernel over \(header.arch == .texture ? "hundreds of support vectors" : "its weights") have no faithful standard ONNX form — export a LivenessNet (facegate train --arch livenessnet) or ship the .fgm with FaceGate (docs/training.md, Deploying your model)")
        }
        let net: LivenessNet
        do { net = try LivenessNet(weights: weights) } catch {
            throw TrainingError.corruptModel(path: path, detail: "\(error)").faceGateError
        }
        let p = try LivenessNetParameters32(flat: net.exportParameters(), inputSize: net.inputSize, classes: net.classes)
        let doc = "FaceGate LivenessNet \(p.inputSize)x\(p.inputSize), classes \(header.classes.joined(separator: "/")) (real: \(header.realClass)); input RGB NCHW, (pixel - mean) / \(p.divisor); crop: aligned chip \(header.crop.chipSize) px, margin \(header.crop.margin); see the .json sidecar"
        let model = onnx(p, precision: precision, docString: doc,
                         metadata: [("classes", header.classes.joined(separator: ",")), ("real_class", header.realClass),
                                    ("crop", "aligned_chip chip_size=\(header.crop.chipSize) margin=\(header.crop.margin)"),
                                    ("mean", p.mean.map { "\($0)" }.joined(separator: ",")), ("std", "\(p.divisor)")])
        let data = model.encoded()
        let side = sidecar(header: header, parameters: p, precision: precision)
        let url = URL(fileURLWithPath: onnxPath)
        let dir = url.deletingLastPathComponent().path
        if !dir.isEmpty { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        do { try data.write(to: url, options: .atomic) } catch {
            throw FaceGateError.badInput("cannot write \(onnxPath): \(error.localizedDescription) — check the folder exists and is writable")
        }
        let sidePath = ExportSidecar.path(for: onnxPath)
        try writeSidecar(side, to: sidePath)
        return Result(onnxPath: onnxPath, sidecarPath: sidePath, onnxBytes: data.count, sidecar: side)
    }

    public static func writeSidecar(_ s: ExportSidecar, to path: String) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do { try (enc.encode(s) + Data("\n".utf8)).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw FaceGateError.badInput("cannot write \(path): \(error.localizedDescription)")
        }
    }

    /// Per-source accuracy, APCER and BPCER of a model on a dataset (for the sidecar and the quantisation check).
    public static func metricsBySource(model: LivenessModel, dataset: Dataset) throws -> [String: SourceMetrics] {
        let r = try ModelEvaluator.evaluate(model: model, dataset: dataset)
        let s = r.scores
        var out: [String: SourceMetrics] = [:]
        for g in Set(s.groups) {
            let idx = s.groups.indices.filter { s.groups[$0] == g }
            let real = idx.filter { s.labels[$0] == s.realLabel }, attack = idx.filter { s.labels[$0] != s.realLabel }
            let correct = idx.filter { s.predicted[$0] == s.labels[$0] || (s.labels[$0] != s.realLabel && s.predicted[$0] != s.realLabel) }.count
            let acceptedAttacks = attack.filter { s.predicted[$0] == s.realLabel }.count
            let rejectedReal = real.filter { s.predicted[$0] != s.realLabel }.count
            out[g] = SourceMetrics(crops: idx.count, accuracy: Double(correct) / Double(max(1, idx.count)),
                                   apcer: attack.isEmpty ? nil : Double(acceptedAttacks) / Double(attack.count),
                                   bpcer: real.isEmpty ? nil : Double(rejectedReal) / Double(real.count))
        }
        return out
    }
}
