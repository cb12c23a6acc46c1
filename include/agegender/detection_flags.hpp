#pragma once
// How faces are found, as the command line says it: shared by predict, embed and visitors (their option
// structs derive from it) and turned into DetectorOptions by the vision layer (detector_options()).
#include <string>

namespace agegender {

struct DetectionFlags {
  std::string detect = "auto";  // auto (ssd with the face models, else haar) | ssd | tiny | haar | none
  std::string cascade;          // Haar cascade XML ("" = opencv-data's frontal face cascade)
  std::string models;           // face models folder ("" = $AGEGENDER_MODELS or models/face-api)
  float min_score = 0.5f;       // ssd / tiny: keep faces scoring above this
  int min_face = 0;             // drop detected faces smaller than this (pixels)
  std::string align = "auto";   // auto (on with the landmark model and a detector) | on | off
  bool landmarks = false;       // write each face's detector score and 68 landmarks
  std::string landmark_model = "full";  // full (face_landmark_68_model) | tiny (face_landmark_68_tiny_model)
  bool small_faces = false;     // ssd / tiny: a second pass over upscaled tiles for faces under ~60 px
  int detect_size = 0;          // ssd / tiny: the frame's long side in the network input (0 = face-api's square)
  std::string passes;           // ssd / tiny: extra passes, a comma list of flip, rotate[:DEG], tiles
  float vote_score = 0;         // with passes: faces from this score up to min_score count when 2 passes find them
};

}  // namespace agegender
