# What every afkd bare-metal toolchain file shares; the per-core file sets AFKD_CPU_FLAGS (the
# -mcpu, -mthumb and float ABI of its core) and includes this.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
set(CMAKE_OBJCOPY arm-none-eabi-objcopy CACHE FILEPATH "objcopy for .bin/.hex")
set(CMAKE_SIZE arm-none-eabi-size CACHE FILEPATH "size for the flash/RAM summary")
# No OS to link a test program against while CMake probes the compiler.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(CMAKE_C_FLAGS_INIT "${AFKD_CPU_FLAGS}")
set(CMAKE_ASM_FLAGS_INIT "${AFKD_CPU_FLAGS}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${AFKD_CPU_FLAGS} --specs=nano.specs --specs=nosys.specs -nostartfiles")

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
