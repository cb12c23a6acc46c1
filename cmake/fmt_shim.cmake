# A pip LibTorch ships its own fmt (v12 with torch 2.11) in its include folder, which the compiler then
# searches before the system's /usr/include; Debian's and Ubuntu's spdlog are built on the system fmt and
# do not compile against another one (spdlog 1.12 + fmt 12: "basic_format_string is not a member of
# fmt"). So when LibTorch's include folders hold an fmt other than spdlog's, a folder holding only a link
# to spdlog's fmt goes ahead of LibTorch's for every target. Debian's LibTorch uses the system fmt: no-op.
if(NOT AGEGENDER_WITH_TORCH OR NOT TARGET fmt::fmt)
  return()
endif()
get_target_property(_fmt_inc fmt::fmt INTERFACE_INCLUDE_DIRECTORIES)
if(NOT _fmt_inc)
  set(_fmt_inc /usr/include)
endif()
list(GET _fmt_inc 0 _fmt_inc)
get_filename_component(_fmt_real "${_fmt_inc}/fmt" REALPATH)
foreach(_dir IN LISTS TORCH_INCLUDE_DIRS)
  get_filename_component(_torch_fmt "${_dir}/fmt" REALPATH)
  if(EXISTS "${_torch_fmt}/core.h" AND EXISTS "${_fmt_real}/core.h" AND NOT _torch_fmt STREQUAL _fmt_real)
    set(_shim "${CMAKE_BINARY_DIR}/fmt_shim")
    file(MAKE_DIRECTORY "${_shim}")
    file(CREATE_LINK "${_fmt_real}" "${_shim}/fmt" SYMBOLIC)
    include_directories(BEFORE SYSTEM "${_shim}")
    message(STATUS "fmt: LibTorch's ${_torch_fmt} differs from spdlog's ${_fmt_real}: ${_shim} goes first")
    break()
  endif()
endforeach()
