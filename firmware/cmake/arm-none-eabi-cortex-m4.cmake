# Toolchain file: bare-metal Cortex-M4F with the hardware FPU (STM32F4, STM32L476, MPS2 AN386).
#   cmake -DCMAKE_TOOLCHAIN_FILE=firmware/cmake/arm-none-eabi-cortex-m4.cmake ...
set(AFKD_CPU_FLAGS "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16")
include(${CMAKE_CURRENT_LIST_DIR}/arm-none-eabi-common.cmake)
