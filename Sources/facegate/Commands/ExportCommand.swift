import ArgumentParser
import FaceGate
import FaceGateLab
import FaceGateCore
import Foundation

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a trained LivenessNet to ONNX (+ JSON sidecar) for ONNX Runtime, OpenCV DNN or --pad-model.",
        discussion: """
        Writes OUT.onnx (opset 11: OpenCV 4.6 and ONNX Runtime read it) and OUT.json (the catalog sidecar: input size,
        colour order, normalisation, crop recipe, classes, training summary, metrics). The exported file plugs into
        FaceGate like a catalog model (--pad-model OUT.onnx, liveness.pad_models) and into `evaluate --model OUT.onnx`.
        Texture (LBP + SVM) models are not exported: see docs/training.md, "Deploying your model".

        Examples:
          facegate export --model liveness.fgm --onnx liveness.onnx
          facegate export --model liveness.fgm --onnx liveness-int8.onnx --precision int8 --dataset heldout
        """)

    @Option(help: "Model file written by `facegate train` (LivenessNet).") var model: String
    @Option(help: "ONNX file to write (the sidecar goes beside it as .json).") var onnx: String
    @Option(help: "float32 (the native numbers) or int8 (conv/dense weights as int8 per channel, a quarter of the size).") var precision = "float32"
    @Option(help: "Labelled crops (same layout as for training): per-source accuracy of the exported file goes into the sidecar.") var dataset: String?
    @Flag(help: "Print the result as JSON.") var json = false

    struct Output: Encodable {
        var onnx: String
        var sidecar: String
        var bytes: Int
        var precision: String
        var input_size: [Int]
        var classes: [String]
        var metrics_by_source: [String: SourceMetrics]?
    }

    func run() async throws {
        try await reportingErrors {
            guard let p = ExportPrecision(rawValue: precision.lowercased()) else {
                throw FaceGateError.badInput("unknown --precision '\(precision)' — use float32 or int8")
            }
            var res = try ModelExporter.export(model: model, to: onnx, precision: p)
            if let dataset {
                let ds: Dataset
                do { ds = try Dataset.scan(dataset) } catch let e as TrainingError { throw e.faceGateError }
                let exported = try LivenessModel(path: res.onnxPath)
                res.sidecar.metricsBySource = try ModelExporter.metricsBySource(model: exported, dataset: ds)
                res.sidecar.metricsDataset = ds.directory
                try ModelExporter.writeSidecar(res.sidecar, to: res.sidecarPath)
            }
            if json {
                print(jsonLine(Output(onnx: res.onnxPath, sidecar: res.sidecarPath, bytes: res.onnxBytes, precision: p.rawValue,
                                      input_size: res.sidecar.inputSize, classes: res.sidecar.classes,
                                      metrics_by_source: res.sidecar.metricsBySource)))
            } else {
                print("wrote \(res.onnxPath) (\(res.onnxBytes) bytes, \(p.rawValue), input \(res.sidecar.inputSize.map(String.init).joined(separator: "x")) RGB, classes \(res.sidecar.classes.joined(separator: "/")))")
                print("sidecar \(res.sidecarPath)")
                for (g, m) in (res.sidecar.metricsBySource ?? [:]).sorted(by: { $0.key < $1.key }) {
                    print(String(format: "  %@: accuracy %.3f over %d crops", g, m.accuracy, m.crops))
                }
            }
        }
    }
}
