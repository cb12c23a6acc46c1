#pragma once
namespace agegender {
const char* version();       // "0.1.0"
const char* git_revision();  // `git describe` at configure time, "unknown" outside a checkout
}  // namespace agegender
