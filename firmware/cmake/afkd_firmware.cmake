# afkd_add_firmware: one firmware image of the afkd harness for one board.
#
#   include(<repo>/firmware/cmake/afkd_firmware.cmake)
#   afkd_add_firmware(<target>
#       BOARD <a folder of firmware/boards/: stm32f4, stm32l476, stm32f746, stm32h743, stm32u585,
#              stm32l552, stm32g071, stm32l072, mps2_an386, mps2_an500, mps2_an505, host>
#       MODEL_SOURCES <.c files of the generated model and the runtime kernels it uses>
#       [MODEL_INCLUDE_DIRS <dir holding afkd_model_glue.h> ...]
#       [DEFINITIONS <NAME=VALUE> ...]
#       [CLOCK_HZ <core clock the board sets up>]   (default: the board file's)
#       [UART <usart1 | usart2 | ...>]               (default: the board file's)
#       [OPTIMIZATION -O2])
#
# ARM boards need the toolchain file of their core, firmware/cmake/arm-none-eabi-<core>.cmake
# (export/boards.py says which); host uses the system compiler. Outputs in the binary dir: <target>.elf (plain <target> on host),
# <target>.map, and for ARM <target>.bin, <target>.hex, a flash/RAM summary printed by
# arm-none-eabi-size after the link, and a .ci call graph with frame sizes beside each object
# (GCC -fcallgraph-info=su), from which host_tools/stack_usage.py bounds the stack.

set(AFKD_FIRMWARE_DIR "${CMAKE_CURRENT_LIST_DIR}/.." CACHE INTERNAL "afkd firmware/ folder")

function(afkd_add_firmware target)
    cmake_parse_arguments(PARSE_ARGV 1 ARG "" "BOARD;OPTIMIZATION;CLOCK_HZ;UART" "MODEL_SOURCES;MODEL_INCLUDE_DIRS;DEFINITIONS")
    if(NOT ARG_BOARD)
        message(FATAL_ERROR "afkd_add_firmware(${target}): BOARD is required (a folder of ${AFKD_FIRMWARE_DIR}/boards)")
    endif()
    if(NOT ARG_MODEL_SOURCES)
        message(FATAL_ERROR "afkd_add_firmware(${target}): MODEL_SOURCES is empty")
    endif()
    if(NOT ARG_OPTIMIZATION)
        set(ARG_OPTIMIZATION -O2)
    endif()
    set(fw "${AFKD_FIRMWARE_DIR}")
    set(board_dir "${fw}/boards/${ARG_BOARD}")
    if(NOT EXISTS "${board_dir}")
        message(FATAL_ERROR "afkd_add_firmware(${target}): unknown BOARD '${ARG_BOARD}' (no ${board_dir})")
    endif()

    set(is_arm FALSE)
    if(NOT ARG_BOARD STREQUAL "host")
        set(is_arm TRUE)
        if(NOT CMAKE_C_COMPILER MATCHES "arm-none-eabi")
            message(FATAL_ERROR "afkd_add_firmware(${target}): BOARD ${ARG_BOARD} needs "
                "-DCMAKE_TOOLCHAIN_FILE=${fw}/cmake/arm-none-eabi-<core>.cmake")
        endif()
    endif()
    set(board_definitions "")
    if(ARG_CLOCK_HZ)
        list(APPEND board_definitions AFKD_CLOCK_HZ=${ARG_CLOCK_HZ}u)
    endif()
    if(ARG_UART)
        string(TOUPPER "${ARG_UART}" uart_upper)
        list(APPEND board_definitions AFKD_UART_${uart_upper}=1)
    endif()

    set(sources
        ${fw}/harness/main.c
        ${fw}/runtime/afkd_protocol.c
        ${fw}/runtime/afkd_crc.c
        ${ARG_MODEL_SOURCES})
    if(is_arm)
        list(APPEND sources
            ${board_dir}/board_${ARG_BOARD}.c
            ${fw}/boards/cortex_m/startup_cortex_m.c
            ${fw}/boards/cortex_m/afkd_cortex_m_counter.c)
    else()
        list(APPEND sources ${board_dir}/board_${ARG_BOARD}.c)
    endif()

    add_executable(${target} ${sources})
    target_include_directories(${target} PRIVATE
        ${ARG_MODEL_INCLUDE_DIRS} ${fw}/harness ${fw}/runtime ${fw}/boards/cortex_m ${fw}/boards/stm32)
    target_compile_definitions(${target} PRIVATE ${ARG_DEFINITIONS} ${board_definitions})
    target_compile_options(${target} PRIVATE
        ${ARG_OPTIMIZATION} -g -std=c11 -Wall -Wextra -ffunction-sections -fdata-sections)
    set(map "${CMAKE_CURRENT_BINARY_DIR}/${target}.map")
    target_link_options(${target} PRIVATE -Wl,--gc-sections "-Wl,-Map=${map}")

    if(is_arm)
        target_compile_options(${target} PRIVATE -fcallgraph-info=su)
        set_target_properties(${target} PROPERTIES SUFFIX ".elf")
        target_link_options(${target} PRIVATE
            "-L${fw}/boards/cortex_m" "-T${board_dir}/${ARG_BOARD}.ld" -Wl,--print-memory-usage)
        set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS
            "${board_dir}/${ARG_BOARD}.ld" "${fw}/boards/cortex_m/cortex_m_sections.ld")
        set(elf "$<TARGET_FILE:${target}>")
        add_custom_command(TARGET ${target} POST_BUILD
            COMMAND ${CMAKE_OBJCOPY} -O binary ${elf} ${CMAKE_CURRENT_BINARY_DIR}/${target}.bin
            COMMAND ${CMAKE_OBJCOPY} -O ihex ${elf} ${CMAKE_CURRENT_BINARY_DIR}/${target}.hex
            COMMAND ${CMAKE_SIZE} ${elf}
            COMMENT "afkd: ${target}.bin, ${target}.hex; flash = text + data, RAM = data + bss"
            VERBATIM)
    endif()
endfunction()
