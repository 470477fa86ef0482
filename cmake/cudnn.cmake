# cuDNN: the baseline kiln_bench_kernels times beside kiln's kernels and the reference the
# GPU tests compare them with. Never linked into kiln_lib, whose kernels are its own.
# Only cuDNN's headers are needed at build time: bench/cudnn_baseline.cpp loads libcudnn when
# first used, so the programs start on a machine without it (the benchmark then skips cuDNN's
# rows and the cuDNN tests fail naming what is missing). Without cuDNN, or with
# -DKILN_WITH_CUDNN=OFF, the benchmark and tests build without it.
option(KILN_WITH_CUDNN "Build the cuDNN baseline (benchmarks) and reference (GPU tests) when cuDNN is found" ON)

set(KILN_HAS_CUDNN OFF)
if(KILN_HAS_CUDA AND KILN_WITH_CUDNN)
  find_path(KILN_CUDNN_INCLUDE_DIR cudnn_version.h
            HINTS ${CUDAToolkit_INCLUDE_DIRS} ENV CUDNN_PATH ENV CUDNN_ROOT PATH_SUFFIXES include)
  find_library(KILN_CUDNN_LIBRARY cudnn
               HINTS ${CUDAToolkit_LIBRARY_DIR} ENV CUDNN_PATH ENV CUDNN_ROOT PATH_SUFFIXES lib lib64)
  if(KILN_CUDNN_INCLUDE_DIR AND KILN_CUDNN_LIBRARY)
    file(STRINGS "${KILN_CUDNN_INCLUDE_DIR}/cudnn_version.h" _kiln_cudnn_version REGEX "^#define CUDNN_(MAJOR|MINOR|PATCHLEVEL) ")
    string(REGEX REPLACE ".*CUDNN_MAJOR ([0-9]+).*CUDNN_MINOR ([0-9]+).*CUDNN_PATCHLEVEL ([0-9]+).*" "\\1.\\2.\\3"
           KILN_CUDNN_VERSION "${_kiln_cudnn_version}")
    # 9 moved the legacy API into sub-libraries behind libcudnn.so.9 and added
    # cudnnGetLastErrorString, which the error messages use.
    if(KILN_CUDNN_VERSION VERSION_LESS 9)
      message(STATUS "kiln: cuDNN ${KILN_CUDNN_VERSION} at ${KILN_CUDNN_INCLUDE_DIR} is older than 9; not used")
    else()
      set(KILN_HAS_CUDNN ON)
    endif()
  endif()
endif()
if(KILN_HAS_CUDNN)
  get_filename_component(_kiln_cudnn_dir "${KILN_CUDNN_LIBRARY}" REALPATH)
  get_filename_component(_kiln_cudnn_dir "${_kiln_cudnn_dir}" DIRECTORY)
  message(STATUS "kiln: cuDNN ${KILN_CUDNN_VERSION} baseline and test reference ON (headers ${KILN_CUDNN_INCLUDE_DIR}, "
                 "loaded at run time, built against ${_kiln_cudnn_dir})")
  add_library(kiln_cudnn_baseline STATIC ${PROJECT_SOURCE_DIR}/bench/cudnn_baseline.cpp)
  target_include_directories(kiln_cudnn_baseline PRIVATE ${KILN_CUDNN_INCLUDE_DIR})
  target_link_libraries(kiln_cudnn_baseline PUBLIC kiln_lib PRIVATE ${CMAKE_DL_LIBS})
  target_compile_definitions(kiln_cudnn_baseline PUBLIC KILN_HAS_CUDNN=1
                             PRIVATE KILN_CUDNN_BUILD_DIR="${_kiln_cudnn_dir}")
elseif(KILN_HAS_CUDA AND KILN_WITH_CUDNN)
  message(STATUS "kiln: cuDNN not found (set CUDNN_PATH); benchmarks and tests build without it")
else()
  message(STATUS "kiln: cuDNN baseline and test reference OFF")
endif()
