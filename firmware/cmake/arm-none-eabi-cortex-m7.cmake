# Toolchain file: bare-metal Cortex-M7 with the single-precision FPU (STM32F746, STM32H743, MPS2 AN500).
# fpv5-sp-d16: the F746 has only single precision; the H743's double-precision unit runs it too.
#   cmake -DCMAKE_TOOLCHAIN_FILE=firmware/cmake/arm-none-eabi-cortex-m7.cmake ...
set(AFKD_CPU_FLAGS "-mcpu=cortex-m7 -mthumb -mfloat-abi=hard -mfpu=fpv5-sp-d16")
include(${CMAKE_CURRENT_LIST_DIR}/arm-none-eabi-common.cmake)
