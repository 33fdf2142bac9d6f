# Toolchain file: bare-metal Cortex-M33 with the FPU and the DSP extension (STM32U585, STM32L552, MPS2 AN505).
#   cmake -DCMAKE_TOOLCHAIN_FILE=firmware/cmake/arm-none-eabi-cortex-m33.cmake ...
set(AFKD_CPU_FLAGS "-mcpu=cortex-m33 -mthumb -mfloat-abi=hard -mfpu=fpv5-sp-d16")
include(${CMAKE_CURRENT_LIST_DIR}/arm-none-eabi-common.cmake)
