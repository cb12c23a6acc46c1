#include "export/model_to_onnx.hpp"

#include <functional>

#include "agegender/error.hpp"
#include "agegender/onnx_model.hpp"
#include "export/onnx_graph.hpp"
#include "model/face_resnet.hpp"

namespace agegender {
namespace {

std::vector<float> values(const torch::Tensor& t) {
  const auto c = t.detach().to(torch::kCPU, torch::kFloat).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

std::vector<int64_t> dims(const torch::Tensor& t) { return t.sizes().vec(); }

// A per-output-channel affine y * scale + shift that follows a convolution (BatchNorm, ChannelScale).
struct ChannelAffine {
  torch::Tensor scale, shift;  // double [O]
};

ChannelAffine batch_norm_affine(const torch::nn::BatchNorm2dImpl& bn) {
  const auto var = bn.running_var.to(torch::kDouble), mean = bn.running_mean.to(torch::kDouble);
  auto scale = 1.0 / torch::sqrt(var + bn.options.eps());
  if (bn.weight.defined()) scale = scale * bn.weight.detach().to(torch::kDouble);
  auto shift = -mean * scale;
  if (bn.bias.defined()) shift = shift + bn.bias.detach().to(torch::kDouble);
  return {scale, shift};
}

class Walker {
 public:
  explicit Walker(OnnxGraph& g) : g_(g) {}

  // Conv (any following channel affine folded in, computed in double).
  std::string conv(const std::string& x, const torch::nn::Conv2dImpl& c, const ChannelAffine* affine = nullptr) {
    const auto& o = c.options;
    const auto* pad = c10::get_if<torch::ExpandingArray<2>>(&o.padding());
    if (!pad || o.groups() != 1 || !c10::get_if<torch::enumtype::kZeros>(&o.padding_mode())) {
      throw RuntimeError("export: only zero-padded, explicitly padded, ungrouped Conv2d layers are supported");
    }
    auto w = c.weight.detach().to(torch::kDouble);
    auto b = c.bias.defined() ? c.bias.detach().to(torch::kDouble) : torch::zeros({w.size(0)}, torch::kDouble);
    if (affine) {
      w = w * affine->scale.view({-1, 1, 1, 1});
      b = b * affine->scale + affine->shift;
    }
    auto& n = g_.node("Conv", {x, g_.weight("conv_w", dims(w), values(w)), g_.weight("conv_b", dims(b), values(b))});
    set_ints(n, "kernel_shape", {o.kernel_size()->at(0), o.kernel_size()->at(1)});
    set_ints(n, "strides", {o.stride()->at(0), o.stride()->at(1)});
    set_ints(n, "pads", {(*pad)->at(0), (*pad)->at(1), (*pad)->at(0), (*pad)->at(1)});
    set_ints(n, "dilations", {o.dilation()->at(0), o.dilation()->at(1)});
    return OnnxGraph::out(n);
  }

  std::string scaled_conv(const std::string& x, ScaledConvImpl& sc) {
    const ChannelAffine a{sc.scale->weight.detach().to(torch::kDouble), sc.scale->bias.detach().to(torch::kDouble)};
    return conv(x, *sc.conv, &a);
  }

  std::string relu(const std::string& x) { return OnnxGraph::out(g_.node("Relu", {x})); }

  std::string pool(const std::string& op, const std::string& x, int64_t kernel, int64_t stride, int64_t padding = 0,
                   bool ceil = false) {
    auto& n = g_.node(op, {x});
    set_ints(n, "kernel_shape", {kernel, kernel});
    set_ints(n, "strides", {stride, stride});
    set_ints(n, "pads", {padding, padding, padding, padding});
    if (ceil) set_int(n, "ceil_mode", 1);
    return OnnxGraph::out(n);
  }

  // Zero padding at the end of dimensions 1 (channels), 2 and 3 of an NCHW tensor.
  std::string pad_end(const std::string& x, int64_t channels, int64_t rows, int64_t cols) {
    const std::string pads = g_.ints("pads", {0, 0, 0, 0, 0, channels, rows, cols});
    return OnnxGraph::out(g_.node("Pad", {x, pads}));
  }

  // face_resnet's residual block: relu(main + shortcut), shapes from the probe (FaceResBlockImpl::forward).
  std::string res_block(const std::string& x, FaceResBlockImpl& block, const torch::Tensor& probe) {
    auto conv1 = std::dynamic_pointer_cast<ScaledConvImpl>(block.named_children()["conv1"]);
    auto conv2 = std::dynamic_pointer_cast<ScaledConvImpl>(block.named_children()["conv2"]);
    if (!conv1 || !conv2) throw RuntimeError("export: face_resnet block without conv1/conv2");
    const bool down = conv1->conv->options.stride()->at(0) == 2;
    std::string y = scaled_conv(relu(scaled_conv(x, *conv1)), *conv2);
    std::string shortcut = x;
    if (down) {
      const auto main = conv2->forward(torch::relu(conv1->forward(probe)));
      const auto pooled = torch::nn::functional::avg_pool2d(probe, torch::nn::functional::AvgPool2dFuncOptions(2).stride(2));
      shortcut = pool("AveragePool", x, 2, 2);
      const int64_t extra = main.size(1) - pooled.size(1);
      if (extra > 0) shortcut = pad_end(shortcut, extra, 0, 0);
      const int64_t dh = pooled.size(2) - main.size(2), dw = pooled.size(3) - main.size(3);
      if (dh > 0 || dw > 0) y = pad_end(y, 0, std::max<int64_t>(dh, 0), std::max<int64_t>(dw, 0));
    }
    return relu(OnnxGraph::out(g_.node("Add", {y, shortcut})));
  }

  std::string linear(const std::string& x, const torch::nn::LinearImpl& l) {
    std::vector<std::string> in = {x, g_.weight("fc_w", dims(l.weight), values(l.weight))};
    in.push_back(l.bias.defined() ? g_.weight("fc_b", dims(l.bias), values(l.bias))
                                  : g_.weight("fc_b", {l.weight.size(0)}, std::vector<float>(l.weight.size(0), 0.0f)));
    auto& n = g_.node("Gemm", in);
    set_int(n, "transB", 1);
    return OnnxGraph::out(n);
  }

  std::string flatten(const std::string& x) {
    auto& n = g_.node("Flatten", {x});
    set_int(n, "axis", 1);
    return OnnxGraph::out(n);
  }

  std::string softmax(const std::string& x, const std::string& name = "") {
    auto& n = g_.node("Softmax", {x}, name);
    set_int(n, "axis", 1);
    return OnnxGraph::out(n);
  }

  // probs [N, R] x matrix [R, C] (+ 0) -> [N, C]. Stored transposed with transB = 1, like a Linear layer:
  // OpenCV 4.6 reads a constant Gemm B as [out, in] whatever transB says.
  std::string project(const std::string& probs, const torch::Tensor& matrix, const std::string& name) {
    const auto t = matrix.t().contiguous();
    const std::string m = g_.weight("proj", dims(t), values(t));
    const std::string zero = g_.weight("proj_b", {t.size(0)}, std::vector<float>(static_cast<size_t>(t.size(0)), 0.0f));
    auto& n = g_.node("Gemm", {probs, m, zero}, name);
    set_int(n, "transB", 1);
    return OnnxGraph::out(n);
  }

  // AgeCalibration::apply: exp(scale * ln(1 + age) + shift) - 1, clipped to 0..116 (the input, a projection
  // of probabilities onto the years, is never below 0, so Log's argument is at least 1).
  std::string calibrate_age(const std::string& age, const AgeCalibration& c, const std::string& name) {
    const auto constant = [&](float v) { return g_.weight("age_cal", {1}, {v}); };
    std::string x = OnnxGraph::out(g_.node("Add", {age, constant(1.0f)}));
    x = OnnxGraph::out(g_.node("Log", {x}));
    x = OnnxGraph::out(g_.node("Mul", {x, constant(static_cast<float>(c.scale))}));
    x = OnnxGraph::out(g_.node("Add", {x, constant(static_cast<float>(c.shift))}));
    x = OnnxGraph::out(g_.node("Exp", {x}));
    x = OnnxGraph::out(g_.node("Sub", {x, constant(1.0f)}));
    // Clipped as max - Relu(max - Relu(x)): OpenCV 4.6 reads only the attribute form of Clip (opset < 11).
    const float max_age = static_cast<float>(AgeCalibration::kMaxAge);
    x = OnnxGraph::out(g_.node("Mul", {relu(x), constant(-1.0f)}));
    x = OnnxGraph::out(g_.node("Mul", {relu(OnnxGraph::out(g_.node("Add", {x, constant(max_age)}))), constant(-1.0f)}));
    return OnnxGraph::out(g_.node("Add", {x, constant(max_age)}, name));
  }

  std::string global_average(const std::string& x) { return flatten(OnnxGraph::out(g_.node("GlobalAveragePool", {x}))); }

  // One Sequential's children in order; a BatchNorm2d right after a Conv2d is folded into it.
  // `advance(i, probe)` runs child i on the probe, so shape-dependent blocks know their input's shape.
  using Children = std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>>;
  std::string sequence(const std::string& x_in, const Children& kids, torch::Tensor probe, const std::string& where,
                       const std::function<torch::Tensor(size_t, const torch::Tensor&)>& advance) {
    std::string x = x_in;
    for (size_t i = 0; i < kids.size(); ++i) {
      const auto& m = kids[i].second;
      const torch::Tensor in_probe = probe;
      probe = advance(i, probe);
      if (auto c = std::dynamic_pointer_cast<torch::nn::Conv2dImpl>(m)) {
        auto bn = i + 1 < kids.size() ? std::dynamic_pointer_cast<torch::nn::BatchNorm2dImpl>(kids[i + 1].second) : nullptr;
        if (bn) {
          const ChannelAffine a = batch_norm_affine(*bn);
          x = conv(x, *c, &a);
          probe = advance(++i, probe);
        } else {
          x = conv(x, *c);
        }
      } else if (std::dynamic_pointer_cast<torch::nn::ReLUImpl>(m)) {
        x = relu(x);
      } else if (auto p = std::dynamic_pointer_cast<torch::nn::MaxPool2dImpl>(m)) {
        const auto& o = p->options;
        if (o.kernel_size()->at(0) != o.kernel_size()->at(1) || o.stride()->at(0) != o.stride()->at(1) ||
            o.padding()->at(0) != o.padding()->at(1) || o.dilation()->at(0) != 1 || o.dilation()->at(1) != 1) {
          throw RuntimeError("export: " + where + kids[i].first + ": only square, undilated MaxPool2d is supported");
        }
        x = pool("MaxPool", x, o.kernel_size()->at(0), o.stride()->at(0), o.padding()->at(0), o.ceil_mode());
      } else if (auto stem = std::dynamic_pointer_cast<FaceStemImpl>(m)) {
        const ChannelAffine a{stem->scale->weight.detach().to(torch::kDouble), stem->scale->bias.detach().to(torch::kDouble)};
        x = pool("MaxPool", relu(conv(x, *stem->conv, &a)), 3, 2);
      } else if (auto block = std::dynamic_pointer_cast<FaceResBlockImpl>(m)) {
        x = res_block(x, *block, in_probe);
      } else if (std::dynamic_pointer_cast<torch::nn::FlattenImpl>(m)) {
        x = flatten(x);
      } else if (auto l = std::dynamic_pointer_cast<torch::nn::LinearImpl>(m)) {
        x = linear(x, *l);
      } else if (!std::dynamic_pointer_cast<torch::nn::DropoutImpl>(m)) {
        throw RuntimeError("export: " + where + kids[i].first + " (" + m->name() + ") has no ONNX translation");
      }
    }
    return x;
  }

 private:
  OnnxGraph& g_;
};

Walker::Children children(const torch::nn::Module& m) {
  Walker::Children kids;
  for (const auto& item : m.named_children()) kids.emplace_back(item.key(), item.value());
  return kids;
}

}  // namespace

void model_to_onnx(FaceNetImpl& model, const AgeBinning& binning, const AgeCalibration& age_calibration, bool dynamic_batch,
                   onnx::GraphProto* graph) {
  torch::NoGradGuard no_grad;
  model.eval();
  const ModelSpec& spec = model.spec();
  OnnxGraph g(graph);
  graph->set_name("agegender_" + spec.arch);
  const int64_t batch = dynamic_batch ? -1 : 1;
  g.input(kOnnxInput, {batch, spec.in_channels, spec.input_size, spec.input_size});
  Walker w(g);

  const auto probe = torch::zeros({1, spec.in_channels, spec.input_size, spec.input_size});
  std::string x = w.sequence(kOnnxInput, children(*model.feature_extractor()), probe, "features.",
                             [&](size_t i, const torch::Tensor& p) { return model.forward_blocks(static_cast<int>(i), static_cast<int>(i) + 1, p); });
  const auto parts = model.named_children();
  if (const auto* neck = parts.find("neck")) {
    x = w.sequence(x, children(**neck), {}, "neck.", [](size_t, const torch::Tensor& p) { return p; });
  } else {
    x = w.global_average(x);
  }
  const auto head = [&](const char* name) -> std::shared_ptr<torch::nn::LinearImpl> {
    const auto* m = parts.find(name);
    return m ? std::dynamic_pointer_cast<torch::nn::LinearImpl>(*m) : nullptr;
  };
  if (auto age = head("age_head")) {
    const int64_t k = binning.num_classes();
    if (spec.age_head == "years") {
      const std::string years = w.softmax(w.linear(x, *age));
      auto year_to_class = torch::zeros({kAgeYears, k});
      for (int a = 0; a < kAgeYears; ++a) year_to_class[a][binning.class_of(a)] = 1.0f;
      w.project(years, year_to_class, kOnnxAgeProbs);
      const auto ages = torch::arange(kAgeYears, torch::kFloat).unsqueeze(1);
      if (age_calibration.identity()) {
        w.project(years, ages, kOnnxAge);
      } else {
        w.calibrate_age(w.project(years, ages, ""), age_calibration, kOnnxAge);
      }
      g.output(kOnnxAge, {batch, 1});
    } else {
      w.softmax(w.linear(x, *age), kOnnxAgeProbs);
    }
    g.output(kOnnxAgeProbs, {batch, k});
  }
  if (auto gender = head("gender_head")) {
    w.softmax(w.linear(x, *gender), kOnnxGenderProbs);
    g.output(kOnnxGenderProbs, {batch, 2});
  }
}

}  // namespace agegender
