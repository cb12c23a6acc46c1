#pragma once
// ONNX's generated protobuf classes (namespace onnx) as Debian's libonnx_proto was built: with the ML
// extensions. Defined here rather than by the onnx_proto CMake target, whose -D flags would differ from the
// shared torch precompiled header's and disable it.
#ifndef ONNX_ML
#define ONNX_ML 1
#endif
#include <onnx/onnx_pb.h>
