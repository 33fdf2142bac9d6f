# Toolchain file: bare-metal Cortex-M0+ (STM32G071, STM32L072): ARMv6-M, no FPU, no DSP: the
# portable C kernels, soft-float for the millivolt wrappers.
#   cmake -DCMAKE_TOOLCHAIN_FILE=firmware/cmake/arm-none-eabi-cortex-m0plus.cmake ...
set(AFKD_CPU_FLAGS "-mcpu=cortex-m0plus -mthumb -mfloat-abi=soft")
include(${CMAKE_CURRENT_LIST_DIR}/arm-none-eabi-common.cmake)
