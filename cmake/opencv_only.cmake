# AGEGENDER_WITH_TORCH=OFF: an OpenCV-only agegender, included by CMakeLists.txt after the base and data
# layers. It can `prepare`, and `predict --engine opencv` with models exported by a full build (faces:
# --detect haar|none, no alignment); the other subcommands are listed and say they need LibTorch (exit 2).
if(NOT AGEGENDER_WITH_OPENCV OR NOT AGEGENDER_HAS_ONNX)
  message(FATAL_ERROR "AGEGENDER_WITH_TORCH=OFF runs exported .onnx models with OpenCV DNN: it needs "
                      "AGEGENDER_WITH_OPENCV=ON and libonnx-dev")
endif()

# The torch-free part of the model layer; face-api's networks are stubs that name the missing LibTorch.
agegender_layer(model
  SOURCES src/model/preprocess.cpp src/model/age_calibration.cpp src/model/onnx_model.cpp src/model/face_models_dir.cpp src/model/face_networks_none.cpp
  DEPS agegender_data PRIVATE_DEPS ${ONNX_PROTO_LIBS})
agegender_layer(vision
  SOURCES src/vision/inputs.cpp src/vision/face_detector.cpp src/vision/detection_passes.cpp src/vision/face_align.cpp src/vision/face_pipeline.cpp
  DEPS agegender_model)
agegender_layer(predict
  SOURCES src/predict/predictor.cpp src/predict/annotate.cpp src/predict/result_writer.cpp src/predict/demographics.cpp
    src/predict/opencv_engine.cpp src/predict/torch_engine_none.cpp
  DEPS agegender_vision)

add_executable(agegender src/cli/main.cpp src/cli/cmd_prepare.cpp src/cli/cmd_predict.cpp src/cli/media_options.cpp
  src/cli/cmd_without_torch.cpp)
target_link_libraries(agegender PRIVATE agegender_predict CLI11::CLI11)
target_include_directories(agegender PRIVATE src)
target_compile_options(agegender PRIVATE -Wall -Wextra)
