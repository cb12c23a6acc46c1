#pragma once
// Walks a FaceNet's own modules and parameters (eval mode) and writes the same computation as ONNX nodes.
#include "model/onnx_proto.hpp"

#include "agegender/age_calibration.hpp"
#include "agegender/binning.hpp"
#include "model/face_net.hpp"

namespace agegender {

/// Fills `graph` with input [N or 1, C, S, S] -> features -> pooling/neck -> softmax heads (onnx_model.hpp).
/// BatchNorm and face_resnet's channel scales are folded into the preceding convolution; dropout is the
/// identity. A year head's expected age goes through `age_calibration` in the graph. Throws RuntimeError
/// naming a module the walker does not know.
void model_to_onnx(FaceNetImpl& model, const AgeBinning& binning, const AgeCalibration& age_calibration, bool dynamic_batch,
                   onnx::GraphProto* graph);

}  // namespace agegender
