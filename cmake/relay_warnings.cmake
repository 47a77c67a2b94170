# Warnings are PRIVATE to our own targets: consumers never inherit them.
function(relay_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow=local
    -Wno-unused-parameter)
endfunction()
