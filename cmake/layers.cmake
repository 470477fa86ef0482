# One static library per layer (cmake/layer_rules.cmake), each linking only the layers below it.
# Two checks keep it that way:
#  - at configure time, cmake/check_layers.cmake refuses any wrong-way #include;
#  - a "probe" program per layer links that layer's library whole (every object, used or not)
#    against the layers below it alone, so a call into a higher layer is a link error even when
#    the header it came through was allowed.
include(${CMAKE_CURRENT_LIST_DIR}/check_layers.cmake)
kiln_check_layers("${PROJECT_SOURCE_DIR}")

option(KILN_LAYER_PROBES "Link every layer alone to prove it needs nothing above it" ON)

# kiln_add_layer(<layer> SOURCES <files...> [LIBRARIES <third-party targets...>])
# Sources are relative to the calling directory; each must belong to <layer> by the rules.
function(kiln_add_layer layer)
  cmake_parse_arguments(L "" "" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT layer IN_LIST KILN_LAYERS)
    message(FATAL_ERROR "kiln_add_layer: unknown layer '${layer}' (known: ${KILN_LAYERS})")
  endif()
  foreach(source IN LISTS L_SOURCES)
    file(RELATIVE_PATH rel "${PROJECT_SOURCE_DIR}" "${CMAKE_CURRENT_SOURCE_DIR}/${source}")
    kiln_layer_of("${rel}" owner)
    if(NOT owner STREQUAL layer)
      message(FATAL_ERROR "kiln_add_layer: ${rel} belongs to layer '${owner}', not '${layer}' "
                          "(cmake/layer_rules.cmake)")
    endif()
  endforeach()
  set(target kiln_${layer})
  add_library(${target} STATIC ${L_SOURCES})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${target} PUBLIC kiln_options ${L_LIBRARIES})
  foreach(dep IN LISTS KILN_LAYER_DEPS_${layer})
    target_link_libraries(${target} PUBLIC kiln_${dep})
  endforeach()
  if(KILN_LAYER_PROBES)
    add_executable(kiln_layer_probe_${layer} ${PROJECT_SOURCE_DIR}/cmake/layer_probe.cpp)
    target_link_libraries(kiln_layer_probe_${layer} PRIVATE "$<LINK_LIBRARY:WHOLE_ARCHIVE,${target}>")
    set_target_properties(kiln_layer_probe_${layer} PROPERTIES RUNTIME_OUTPUT_DIRECTORY
                                                               ${PROJECT_BINARY_DIR}/layer_probes)
  endif()
endfunction()
