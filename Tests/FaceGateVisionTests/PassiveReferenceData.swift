import Foundation

/// Reference outputs of the two MiniFASNet ONNX files on fixture images, produced once (not at test time) by
/// following Silent-Face-Anti-Spoofing's own pipeline: RetinaFace box as in src/anti_spoof_predict.py Detection.get_bbox
/// (OpenCV 4.6.0 cv2.dnn, image scaled to ~192x192 area, mean 104/117/123), crop as in src/generate_patches.py
/// CropImage._get_new_box + cv2.resize to 80x80, tensor as in src/data_io/functional.py to_tensor (BGR, CHW, 0…255,
/// no normalisation), network run with onnxruntime 1.31 (instead of torch, same weights), softmax per model, summed,
/// arg-max = label (1 = real). Script: docs/passive-liveness.md, "Reference check".
struct MiniFASNetReference {
    var path: String
    /// x, y, w, h as the reference computes it: [int(l), int(t), int(r-l+1), int(b-t+1)].
    var box: [Int]
    var v2: [Double]
    var v1se: [Double]
    var label: Int

    static let all: [MiniFASNetReference] = [
        .init(path: "liveness/minivision-ai__Silent-Face-Anti-Spoofing/images/sample/image_F1.jpg", box: [178, 136, 223, 225], v2: [0.08370, 0.00133, 0.91496], v1se: [0.30837, 0.14333, 0.54830], label: 2),
        .init(path: "liveness/minivision-ai__Silent-Face-Anti-Spoofing/images/sample/image_F2.jpg", box: [120, 252, 252, 256], v2: [0.00016, 0.00064, 0.99920], v1se: [0.00296, 0.36193, 0.63511], label: 2),
        .init(path: "liveness/minivision-ai__Silent-Face-Anti-Spoofing/images/sample/image_T1.jpg", box: [106, 147, 207, 213], v2: [0.00014, 0.99022, 0.00964], v1se: [0.00001, 0.99691, 0.00307], label: 1),
        .init(path: "liveness/Krzysiek354__Python_Face_Detection/dataset/real/0.png", box: [5, 105, 404, 486], v2: [0.98036, 0.00169, 0.01795], v1se: [0.85518, 0.00626, 0.13856], label: 0),
        .init(path: "liveness/Krzysiek354__Python_Face_Detection/dataset/fake/0.png", box: [3, 110, 356, 432], v2: [0.38447, 0.01201, 0.60352], v1se: [0.48967, 0.04081, 0.46952], label: 2),
        .init(path: "liveness/Manikantha-M__Face-Liveness-detection-using-Deeplearning-and-OpenCV/dataset/real/10.png", box: [0, 39, 180, 190], v2: [0.00018, 0.00173, 0.99809], v1se: [0.00018, 0.00044, 0.99938], label: 2),
        .init(path: "liveness/Manikantha-M__Face-Liveness-detection-using-Deeplearning-and-OpenCV/dataset/fake/102.png", box: [0, 16, 84, 86], v2: [0.00018, 0.05848, 0.94134], v1se: [0.00029, 0.02843, 0.97128], label: 2),
        .init(path: "liveness/alexcamargoweb__liveness-detection/dataset/real/0.png", box: [5, 28, 148, 178], v2: [0.09683, 0.64791, 0.25526], v1se: [0.00861, 0.93713, 0.05426], label: 1),
        .init(path: "liveness/alexcamargoweb__liveness-detection/dataset/fake/0.png", box: [0, 28, 153, 180], v2: [0.02597, 0.00180, 0.97224], v1se: [0.00055, 0.00084, 0.99862], label: 2),
        .init(path: "liveness/jtboing__liveness-web-demo/dataset/real/0.png", box: [1, 46, 271, 284], v2: [0.00063, 0.24048, 0.75889], v1se: [0.00176, 0.60855, 0.38969], label: 2),
        .init(path: "liveness/jtboing__liveness-web-demo/dataset/fake/0.png", box: [-4, 45, 292, 320], v2: [0.00008, 0.00923, 0.99070], v1se: [0.00086, 0.00706, 0.99208], label: 2),
        .init(path: "liveness/lestari15__CNN-face-detection/dataset/real/0.png", box: [1, 55, 290, 298], v2: [0.86364, 0.04841, 0.08795], v1se: [0.91343, 0.00267, 0.08390], label: 0),
        .init(path: "liveness/lestari15__CNN-face-detection/dataset/fake/0.png", box: [1, 33, 283, 299], v2: [0.64868, 0.32309, 0.02822], v1se: [0.31111, 0.01831, 0.67058], label: 0),
    ]
}
