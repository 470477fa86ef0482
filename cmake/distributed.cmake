# Data-parallel training: MPI launches the processes, gives each its rank and carries the
# collectives on CPUs; NCCL carries them on GPUs (its unique id is exchanged through MPI, so
# NCCL needs MPI). Both are optional: without them kiln trains in one process, as always, and
# refuses to run as several processes under mpirun, saying why.
# Defines the interface target kiln_collective_libs (compile definitions KILN_HAS_MPI and
# KILN_HAS_NCCL, 0 or 1, and the libraries), which the training library links.
option(KILN_WITH_MPI "Build the MPI process group (data-parallel training on CPUs, NCCL's bootstrap) when MPI is found" ON)
option(KILN_WITH_NCCL "Build the NCCL process group (data-parallel training on GPUs) when NCCL and MPI are found" ON)

set(KILN_HAS_MPI OFF)
if(KILN_WITH_MPI)
  # kiln calls MPI's C API from C++: MPI_CXX_SKIP_MPICXX leaves the deprecated C++ bindings
  # out (not every MPI builds them).
  set(MPI_CXX_SKIP_MPICXX ON)
  find_package(MPI COMPONENTS CXX QUIET)
  if(MPI_CXX_FOUND)
    set(KILN_HAS_MPI ON)
    message(STATUS "kiln: MPI ${MPI_CXX_VERSION} ON (launcher ${MPIEXEC_EXECUTABLE})")
  else()
    message(STATUS "kiln: MPI not found (install libopenmpi-dev openmpi-bin); data-parallel training OFF")
  endif()
else()
  message(STATUS "kiln: MPI OFF (KILN_WITH_MPI=OFF)")
endif()

set(KILN_HAS_NCCL OFF)
if(KILN_HAS_CUDA AND KILN_WITH_NCCL)
  # The toolkit's copy first; NCCL_HOME points at another installation.
  find_path(KILN_NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS} ENV NCCL_HOME PATH_SUFFIXES include)
  find_library(KILN_NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_DIR} ENV NCCL_HOME PATH_SUFFIXES lib lib64)
  if(NOT (KILN_NCCL_INCLUDE_DIR AND KILN_NCCL_LIBRARY))
    message(STATUS "kiln: NCCL not found (set NCCL_HOME); data-parallel training on GPUs OFF")
  elseif(NOT KILN_HAS_MPI)
    message(STATUS "kiln: NCCL found but MPI is not (NCCL's unique id travels by MPI); NCCL OFF")
  else()
    set(KILN_HAS_NCCL ON)
    message(STATUS "kiln: NCCL ON (${KILN_NCCL_LIBRARY})")
  endif()
elseif(KILN_HAS_CUDA)
  message(STATUS "kiln: NCCL OFF (KILN_WITH_NCCL=OFF)")
endif()

add_library(kiln_collective_libs INTERFACE)
target_compile_definitions(kiln_collective_libs INTERFACE KILN_HAS_MPI=$<BOOL:${KILN_HAS_MPI}>
                           KILN_HAS_NCCL=$<BOOL:${KILN_HAS_NCCL}>)
if(KILN_HAS_MPI)
  target_link_libraries(kiln_collective_libs INTERFACE MPI::MPI_CXX)
endif()
if(KILN_HAS_NCCL)
  target_include_directories(kiln_collective_libs INTERFACE ${KILN_NCCL_INCLUDE_DIR})
  target_link_libraries(kiln_collective_libs INTERFACE ${KILN_NCCL_LIBRARY})
endif()

# How ctest launches a test as several processes. --allow-run-as-root: CI runs as root;
# --oversubscribe: more processes than cores on a small CI machine.
set(KILN_MPIEXEC_FLAGS "--allow-run-as-root;--oversubscribe" CACHE STRING "Flags ctest gives mpirun before -np")
