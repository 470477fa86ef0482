# kiln's layers, in the order data flows, and which files belong to each. This file is the one
# place that says so: cmake/layers.cmake builds one static library per layer from it, and
# cmake/check_layers.cmake refuses any #include that points up the stack.
#
#   core ─► kernels ─► ops ─► layers, losses, samplers ─► data ─► trainers ─► experiments ─► program
#
# with two side branches: distributed (process groups) on layers, below trainers; plot (the
# charts) on core alone, below experiments.
#
# A layer may include headers of the layers listed as its dependencies, and of theirs.

# Rules "path prefix=layer", first match wins. The Tensor class is core's; the parts of core/
# that run kernels or record ops (autograd, the ops, random streams and their capture, tensor
# files) are the op layer, which sits above the kernels.
set(KILN_LAYER_RULES
  "core/ops/=ops"
  "core/ops.h=ops"
  "core/nn.h=ops"
  "core/autograd.=ops"
  "core/generator.=ops"
  "core/random_capture.=ops"
  "core/cuda_graph.=ops"
  "core/safetensors.=ops"
  "core/=core"
  "kernels/=kernels"
  "layers/=layers"
  "losses/=losses"
  "samplers/=samplers"
  "data/=data"
  "trainers/distributed/=distributed"
  "trainers/plot/=plot"
  "trainers/experiments/=experiments"
  "trainers/app/=program"
  "trainers/=trainers")

# Direct dependencies of each layer (the checker closes them transitively).
set(KILN_LAYER_DEPS_core "")
set(KILN_LAYER_DEPS_kernels core)
set(KILN_LAYER_DEPS_ops kernels)
set(KILN_LAYER_DEPS_layers ops)
set(KILN_LAYER_DEPS_losses ops)
set(KILN_LAYER_DEPS_samplers ops)
set(KILN_LAYER_DEPS_data samplers)
set(KILN_LAYER_DEPS_plot core)
set(KILN_LAYER_DEPS_distributed layers)
set(KILN_LAYER_DEPS_trainers layers losses data distributed)
set(KILN_LAYER_DEPS_experiments trainers plot)
set(KILN_LAYER_DEPS_program experiments)

set(KILN_LAYERS core kernels ops layers losses samplers data distributed plot trainers experiments program)

# Headers of a lower layer that a layer still may not include: the kernels see plain pointers,
# shapes and scratch memory (kernels/strided.h, kernels/scratch.h), never the Tensor class.
set(KILN_LAYER_FORBIDDEN_kernels core/tensor.h)

# Third-party headers a layer may not use: CLI11 belongs to the program alone.
set(KILN_LAYER_PROGRAM_ONLY_INCLUDES "CLI/")

# Sets `out` to the layer of the repository-relative `path`, or "" when no rule matches.
function(kiln_layer_of path out)
  foreach(rule IN LISTS KILN_LAYER_RULES)
    string(FIND "${rule}" "=" eq)
    string(SUBSTRING "${rule}" 0 ${eq} prefix)
    math(EXPR after "${eq} + 1")
    string(SUBSTRING "${rule}" ${after} -1 layer)
    string(LENGTH "${prefix}" len)
    string(SUBSTRING "${path}" 0 ${len} head)
    if(head STREQUAL prefix)
      set(${out} "${layer}" PARENT_SCOPE)
      return()
    endif()
  endforeach()
  set(${out} "" PARENT_SCOPE)
endfunction()

# Sets `out` to every layer `layer` may include from: itself and its dependencies, transitively.
function(kiln_layer_reach layer out)
  set(reach ${layer})
  set(todo ${KILN_LAYER_DEPS_${layer}})
  while(todo)
    list(POP_FRONT todo next)
    if(NOT next IN_LIST reach)
      list(APPEND reach ${next})
      list(APPEND todo ${KILN_LAYER_DEPS_${next}})
    endif()
  endwhile()
  set(${out} ${reach} PARENT_SCOPE)
endfunction()
