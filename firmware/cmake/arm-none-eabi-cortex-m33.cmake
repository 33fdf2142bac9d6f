# Toolchain file: bare-metal Cortex-M33 with the FPU and the DSP extension (STM32U585, STM32L552, MPS2 AN505).
#   cmake -DCMAKE_TOOLCHAIN_FILE=firmware/cmake/arm-none-eabi-cortex-m33.cmake ...
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
set(CMAKE_OBJCOPY arm-none-eabi-objcopy CACHE FILEPATH "objcopy for .bin/.hex")
set(CMAKE_SIZE arm-none-eabi-size CACHE FILEPATH "size for the flash/RAM summary")
# No OS to link a test program against while CMake probes the compiler.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(AFKD_CPU_FLAGS "-mcpu=cortex-m33 -mthumb -mfloat-abi=hard -mfpu=fpv5-sp-d16")
set(CMAKE_C_FLAGS_INIT "${AFKD_CPU_FLAGS}")
set(CMAKE_ASM_FLAGS_INIT "${AFKD_CPU_FLAGS}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${AFKD_CPU_FLAGS} --specs=nano.specs --specs=nosys.specs -nostartfiles")

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
