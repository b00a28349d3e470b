# Live update of the window under Xvfb on lavapipe: `salab --stats --bench-changes 2` changes a
# pattern slider twice from a script (like a user dragging it, each change once the previous
# update has landed) and prints, per parameter generation, when its mask, heatmap and sparse
# timing were all shown as current:
#   salab: gen G update (mask GPU|CPU + heatmap + sparse timing) shown after T ms
# and a final "salab: stats ... updates=U scripted_changes=C" line. This script checks that both
# scripted changes produced a new, complete result (generations 2 and 3). The mask image may be
# counted on the GPU or the CPU: n = 1024 fitted into the view is ~2 tokens per pixel, which a CPU
# device such as lavapipe counts exactly on the CPU, faster than through the device (the live
# pipeline's GPU density is tested in tests/test_live_problem.cpp).
#   cmake -DSALAB=... -DXVFB_RUN=... -DSRC=<source dir> -P gui_live_update.cmake
foreach(var SALAB XVFB_RUN SRC)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "gui_live_update.cmake needs -D${var}=...")
  endif()
endforeach()
execute_process(
  COMMAND ${XVFB_RUN} -a -s "-screen 0 1600x1000x24" ${SALAB} --pattern ${SRC}/assets/presets/mistral_sliding_window.json
          --n 1024 --stats --bench-changes 2
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 300)
message(STATUS "rc=${rc}\n${out}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "salab exited with ${rc}: ${err}")
endif()
foreach(gen 1 2 3)
  if(NOT out MATCHES "gen ${gen} update \\(mask (GPU|CPU) \\+ heatmap \\+ sparse timing\\) shown after [0-9]+ ms")
    message(FATAL_ERROR "no complete update (mask, heatmap, sparse timing) for generation ${gen}")
  endif()
endforeach()
if(NOT out MATCHES "updates=3 scripted_changes=2")
  message(FATAL_ERROR "expected 3 updates from 2 scripted changes")
endif()
